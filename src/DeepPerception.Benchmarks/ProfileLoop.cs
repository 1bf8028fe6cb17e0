using System.Globalization;
using DeepPerception.ML.Qwen2VL;
using TorchSharp;

namespace DeepPerception.Benchmarks;

/// <summary>
/// Repeats one C#-side measurement (no reference process) and prints each time, so that a sampling profiler such as
/// <c>perf record -p PID</c> sees a steady workload.
/// </summary>
public static class ProfileLoop
{
    /// <summary>Runs <c>loop OP [--batch B] [--count K] [--threads N] [--new-tokens N]</c>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var op = args[0];
        int batch = 1, count = 10, threads = 1, newTokens = 64;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i++])
            {
                case "--batch": batch = value; break;
                case "--count": count = value; break;
                case "--threads": threads = value; break;
                case "--new-tokens": newTokens = value; break;
                default: throw new ArgumentException($"Unknown option '{args[i - 1]}'.");
            }
        }

        torch.set_num_threads(threads);
        if (op == "linear")
        {
            return LinearShapes(batch, count, output);
        }

        var options = new EngineBenchmarkOptions();
        var config = Qwen2VLConfig.Preset(options.Preset);
        var prompt = BenchmarkPrompt.Create(config, options.Grid, options.TextTokens, options.Seed);
        using var model = new Qwen2VLForConditionalGeneration(config);
        model.InitializeWeights(options.Seed);
        using var engine = new EngineSide(model, prompt);
        if (op == "train")
        {
            engine.TrainSetup(batch);
        }

        output.WriteLine($"pid {Environment.ProcessId}: {op}, batch {batch}, {threads} thread(s)");
        for (var i = 0; i < count; i++)
        {
            var line = op switch
            {
                "prefill" or "decode" => Format(engine.Generate(batch, op == "prefill" ? 1 : newTokens)),
                "recompute" => $"{engine.Recompute(newTokens).Seconds * 1000:F1} ms",
                "train" => $"{engine.TrainStep().Seconds * 1000:F1} ms",
                _ => throw new ArgumentException($"Unknown loop operation '{op}' (prefill, decode, recompute, train, linear)."),
            };
            output.WriteLine(line);
        }

        return 0;
    }

    /// <summary>
    /// Times a decoder-sized linear layer (1408×512) on <paramref name="batch"/> rows two ways: <c>F.linear(x, W)</c>
    /// and <c>(W·xᵀ)ᵀ</c>, to see how the BLAS handles small-M products.
    /// </summary>
    private static int LinearShapes(int batch, int count, TextWriter output)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var w = torch.randn(1408, 512);
        var x = torch.randn(batch, 512);
        for (var round = 0; round < 3; round++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                using var y = torch.nn.functional.linear(x, w);
            }

            var linear = sw.Elapsed.TotalMilliseconds * 1000 / count;
            sw.Restart();
            for (var i = 0; i < count; i++)
            {
                using var y = w.matmul(x.t()).t();
            }

            var swapped = sw.Elapsed.TotalMilliseconds * 1000 / count;
            output.WriteLine($"batch {batch}: F.linear {linear:F1} µs, (W·xᵀ)ᵀ {swapped:F1} µs");
        }

        return 0;
    }

    private static string Format((double Prefill, double Decode, int[] Tokens) g) =>
        $"prefill {g.Prefill * 1000:F1} ms, decode {g.Decode * 1000:F1} ms ({g.Tokens.Length} tokens)";
}
