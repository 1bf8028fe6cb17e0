using System.Diagnostics;
using DeepPerception.Experiments;

// Usage: kvg-synth [--quick|--medium|--full] [--out DIR] [--threads N] [--seed N] [--continuous-iou|--thresholded-iou]
//                  [--base-epochs N] [--sft-epochs N] [--grpo-steps N] [--grpo-lr X] [--shapes N]
if (args.Length == 0 || args[0] != "kvg-synth")
{
    Console.Error.WriteLine("usage: DeepPerception.Experiments.Runner kvg-synth [--quick|--medium|--full] [--out DIR] [--threads N] [--seed N] [--continuous-iou|--thresholded-iou] [--base-epochs N] [--sft-epochs N] [--grpo-steps N] [--grpo-lr X] [--shapes N]");
    return 2;
}

var preset = "full";
var output = "kvg-synth-run";
int? threads = null;
int? seed = null;
bool? continuous = null;
int? baseEpochs = null, sftEpochs = null, grpoSteps = null, shapes = null;
double? grpoLr = null;
static int Int(string s) => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick": preset = "quick"; break;
        case "--medium": preset = "medium"; break;
        case "--full": preset = "full"; break;
        case "--continuous-iou": continuous = true; break;
        case "--thresholded-iou": continuous = false; break;
        case "--out" when i + 1 < args.Length: output = args[++i]; break;
        case "--threads" when i + 1 < args.Length: threads = Int(args[++i]); break;
        case "--seed" when i + 1 < args.Length: seed = Int(args[++i]); break;
        case "--base-epochs" when i + 1 < args.Length: baseEpochs = Int(args[++i]); break;
        case "--sft-epochs" when i + 1 < args.Length: sftEpochs = Int(args[++i]); break;
        case "--grpo-steps" when i + 1 < args.Length: grpoSteps = Int(args[++i]); break;
        case "--shapes" when i + 1 < args.Length: shapes = Int(args[++i]); break;
        case "--grpo-lr" when i + 1 < args.Length: grpoLr = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"unknown or incomplete argument '{args[i]}'");
            return 2;
    }
}

var options = preset switch
{
    "quick" => ExperimentOptions.Quick(output),
    "medium" => ExperimentOptions.Medium(output),
    _ => ExperimentOptions.Full(output),
};
options = options with
{
    Threads = threads ?? options.Threads,
    Seed = seed ?? options.Seed,
    ContinuousIouReward = continuous ?? options.ContinuousIouReward,
    Base = options.Base with { Epochs = baseEpochs ?? options.Base.Epochs },
    Sft = options.Sft with { Epochs = sftEpochs ?? options.Sft.Epochs },
    GrpoMaxSteps = grpoSteps ?? options.GrpoMaxSteps,
    ShapeSamples = shapes ?? options.ShapeSamples,
    GrpoEpochs = grpoSteps is int n ? Math.Max(options.GrpoEpochs, n) : options.GrpoEpochs,
    GrpoLearningRate = grpoLr ?? options.GrpoLearningRate,
};

var clock = Stopwatch.StartNew();
void Log(string line) => Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {line}");
Log($"kvg-synth {preset} → {Path.GetFullPath(output)} ({options.Threads} threads)");
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
var result = KvgSynthExperiment.Run(options, Log, cts.Token);
Log($"results: {result.ResultsPath}");
return 0;
