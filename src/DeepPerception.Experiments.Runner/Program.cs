using System.Diagnostics;
using DeepPerception.Experiments;

// Usage: kvg-synth [--quick|--medium|--full] [--out DIR] [--threads N] [--seed N] [--continuous-iou]
if (args.Length == 0 || args[0] != "kvg-synth")
{
    Console.Error.WriteLine("usage: DeepPerception.Experiments.Runner kvg-synth [--quick|--medium|--full] [--out DIR] [--threads N] [--seed N] [--continuous-iou|--thresholded-iou]");
    return 2;
}

var preset = "full";
var output = "kvg-synth-run";
int? threads = null;
int? seed = null;
bool? continuous = null;
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
        case "--threads" when i + 1 < args.Length: threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--seed" when i + 1 < args.Length: seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
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
