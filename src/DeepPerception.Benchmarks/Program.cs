using System.Globalization;
using DeepPerception.Benchmarks;
using DeepPerception.ML.Qwen2VL;

const string Usage = """
    Usage: DeepPerception.Benchmarks engine [options]
           DeepPerception.Benchmarks serving [--concurrency 1,4,16,32] [--requests N] [--max-batch B] [--max-wait-ms W]
             [--new-tokens N] [--train-steps N] [--host PATH] [--work DIR] [--out PATH]
             (drives POST /v1/ground of the one-process host on loopback; batching on, then off, on the same trained model)
           DeepPerception.Benchmarks loop prefill|decode|recompute|train|linear|kernel [--batch B] [--count K] [--threads N] [--new-tokens N] [--preset P] [--blas-only]
             (C# side only, for profilers: repeats one measurement and prints each time)

      --threads N[,M…]   threads per side (default 1; e.g. 1,2)
      --quick            2 rounds, 1 repetition, 16 new tokens
      --rounds R         alternating rounds (default 3)
      --reps K           timed repetitions per side and round (default 3)
      --new-tokens N     decoded tokens (default 64)
      --preset NAME      model preset (default small-30m)
      --grid T,H,W       image grid in 14-px patches (default 1,16,16)
      --out PATH         also write the Markdown report to PATH
      --python PATH      Python with PyTorch (default /usr/bin/python3)
      --reference PATH   tools/bench/qwen2vl_reference.py (found automatically)
      --blas-dir DIR     OpenBLAS folder for the reference (default /usr/lib/x86_64-linux-gnu/openblas-openmp; '' = none)
      --work DIR         scratch folder for the checkpoint and inputs (kept)
    """;

if (args.Length >= 2 && args[0] == "loop")
{
    return ProfileLoop.Run(args[1..], Console.Out);
}

if (args.Length >= 1 && args[0] == "serving")
{
    return await ServingCommand.RunAsync(args[1..], Console.Out, Usage);
}

if (args.Length == 0 || args[0] != "engine")
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var options = new EngineBenchmarkOptions();
var quick = false;
int? rounds = null, reps = null, newTokens = null;
try
{
    for (var i = 1; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
        int Int(string s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ArgumentException($"'{s}' is not a positive integer.");
        switch (args[i])
        {
            case "--threads": options = options with { Threads = Next().Split(',').Select(Int).ToArray() }; break;
            case "--quick": quick = true; break;
            case "--rounds": rounds = Int(Next()); break;
            case "--reps": reps = Int(Next()); break;
            case "--new-tokens": newTokens = Int(Next()); break;
            case "--preset": options = options with { Preset = Next() }; break;
            case "--grid":
                var g = Next().Split(',').Select(Int).ToArray();
                options = g.Length == 3 ? options with { Grid = new ImageGrid(g[0], g[1], g[2]) } : throw new ArgumentException("--grid needs T,H,W.");
                break;
            case "--out": options = options with { OutputPath = Next() }; break;
            case "--python": options = options with { Python = Next() }; break;
            case "--reference": options = options with { ReferenceScript = Next() }; break;
            case "--blas-dir": options = options with { BlasDirectory = Next() }; break;
            case "--work": options = options with { WorkDirectory = Next() }; break;
            default: throw new ArgumentException($"Unknown option '{args[i]}'.");
        }
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}

if (quick)
{
    options = options with { Rounds = 2, Repetitions = 1, NewTokens = 16, Mode = "quick" };
}

options = options with
{
    Rounds = rounds ?? options.Rounds,
    Repetitions = reps ?? options.Repetitions,
    NewTokens = newTokens ?? options.NewTokens,
};

var report = new EngineBenchmark(options, Console.Error).Run();
Console.WriteLine(report);
if (options.OutputPath is not null)
{
    Console.Error.WriteLine($"Report written to {options.OutputPath}");
}

return 0;
