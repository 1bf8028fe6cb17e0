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
    /// <summary>Runs <c>loop OP [--batch B] [--count K] [--threads N] [--new-tokens N] [--preset P] [--blas-only]</c>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var op = args[0];
        string? modelDir = null;
        int batch = 1, count = 10, threads = 1, newTokens = 64;
        var preset = new EngineBenchmarkOptions().Preset;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--preset" && i + 1 < args.Length)
            {
                preset = args[++i];
                continue;
            }

            if (args[i] == "--model" && i + 1 < args.Length)
            {
                modelDir = args[++i];
                continue;
            }

            if (args[i] == "--blas-only")
            {
                // Every linear layer through libtorch's BLAS (the small-batch kernel off), for side-by-side runs.
                DeepPerception.ML.Runtime.SmallBatchLinear.Enabled = false;
                continue;
            }

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
        // As a device worker does (DEEPPERCEPTION_MALLOC_DEFAULTS=1 keeps glibc's defaults for a side-by-side run).
        output.WriteLine($"native heap kept between steps: {DeepPerception.ML.Runtime.NativeHeap.KeepFreedMemory()}");
        if (op == "kernel")
        {
            return KernelShapes(batch, count, output);
        }

        if (op == "linear")
        {
            return LinearShapes(batch, count, output);
        }

        if (op == "preprocess")
        {
            return Preprocess(count, output);
        }

        if (op == "ground")
        {
            return Ground(modelDir ?? throw new ArgumentException("ground needs --model DIR (a Hugging Face checkpoint folder)."), batch, count, newTokens, output);
        }

        var options = new EngineBenchmarkOptions { Preset = preset };
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
                _ => throw new ArgumentException($"Unknown loop operation '{op}' (prefill, decode, recompute, train, linear, kernel)."),
            };
            output.WriteLine(line);
        }

        return 0;
    }

    /// <summary>
    /// Times what the serving path does to each request's image before the model sees it: PNG decoding with the hardened
    /// decoder and the Qwen2-VL processor, on the serving benchmark's KVG-Synth test images (224–320 px).
    /// </summary>
    private static int Preprocess(int count, TextWriter output)
    {
        var pngs = ServingBenchmark.TestSamples().Select(s => s.Image.EncodePng()).ToArray();
        var decoder = new DeepPerception.ML.Preprocessing.Images.SafeImageDecoder();
        var processor = new DeepPerception.ML.Preprocessing.Images.Qwen2VLImageProcessor(
            new DeepPerception.ML.Preprocessing.Images.Qwen2VLImageProcessorOptions { MaxPixels = 224 * 224 /* the serving benchmark's ServingMaxPixels */ });
        output.WriteLine($"{pngs.Length} PNG images, mean {pngs.Average(p => p.Length) / 1024:F0} KiB");
        for (var round = 0; round < count; round++)
        {
            double decodeMs = 0, processMs = 0;
            foreach (var png in pngs)
            {
                var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                var image = decoder.Decode(png);
                var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                processor.Process(image);
                decodeMs += System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
                processMs += System.Diagnostics.Stopwatch.GetElapsedTime(t1).TotalMilliseconds;
            }

            output.WriteLine($"decode {decodeMs / pngs.Length:F2} ms, process {processMs / pngs.Length:F2} ms per image");
        }

        return 0;
    }

    /// <summary>
    /// Times <see cref="DeepPerception.ML.Kvg.KvgModel.Ground"/> as the serving path calls it (images preprocessed before
    /// the batch) on batches of <paramref name="batch"/> serving-benchmark images, split into prefill and decode.
    /// </summary>
    private static int Ground(string modelDir, int batch, int count, int newTokens, TextWriter output)
    {
        using var model = DeepPerception.ML.Kvg.KvgModel.Load(modelDir, maxPixels: 224 * 224) /* the serving benchmark's ServingMaxPixels */;
        var decoder = new DeepPerception.ML.Preprocessing.Images.SafeImageDecoder();
        var requests = ServingBenchmark.TestSamples().Select(s =>
        {
            var image = decoder.Decode(s.Image.EncodePng());
            return new DeepPerception.ML.Kvg.GroundRequest(image, s.Target.Label, null, model.Processor.Process(image));
        }).ToArray();
        var options = new DeepPerception.ML.Kvg.GroundOptions { MaxNewTokens = newTokens };
        output.WriteLine($"ground, batch {batch}, {newTokens} new tokens at most");
        for (var round = 0; round < count; round++)
        {
            var chosen = Enumerable.Range(0, batch).Select(i => requests[((round * batch) + i) % requests.Length]).ToList();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var results = model.Ground(chosen, options);
            var total = sw.Elapsed.TotalMilliseconds;
            output.WriteLine($"total {total:F1} ms: tensors {results[0].PreprocessTime.TotalMilliseconds:F1} ms, prefill {results[0].PrefillTime.TotalMilliseconds:F1} ms, decode {results[0].DecodeTime.TotalMilliseconds:F1} ms, " +
                $"{results.Average(r => r.GeneratedTokens):F1} tokens, {results.Average(r => r.PromptTokens):F0} prompt tokens");
        }

        return 0;
    }

    /// <summary>
    /// Times the small-batch linear kernel alone on decoder-sized weights, first hot (the same matrix over and over), then
    /// streamed from memory (40 distinct matrices in turn) side by side with <c>F.linear</c>.
    /// </summary>
    private static int KernelShapes(int batch, int count, TextWriter output)
    {
        foreach (var (n, k) in new[] { (128, 512), (1408, 512), (8192, 512) })
        {
            var x = new float[batch * k]; var w = new float[n * k]; var y = new float[batch * n];
            for (var i = 0; i < w.Length; i++) w[i] = (i % 7) * 0.1f;
            for (var i = 0; i < x.Length; i++) x[i] = (i % 5) * 0.1f;
            for (var round = 0; round < 3; round++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                for (var i = 0; i < count; i++) DeepPerception.ML.Runtime.SmallBatchLinear.Compute(x, batch, w, n, k, default, y);
                var us = sw.Elapsed.TotalMilliseconds * 1000 / count;
                output.WriteLine($"kernel {n}x{k} batch {batch}: {us:F1} µs, {2.0 * batch * n * k / us / 1000:F1} GFLOP/s");
            }
        }

        // Weights streamed from memory: 40 distinct 1408×512 matrices (115 MB, more than any cache), in turn.
        {
            const int n = 1408, k = 512, matrices = 40;
            var ws = Enumerable.Range(0, matrices).Select(m => Enumerable.Range(0, n * k).Select(i => (i % 11) * 0.01f).ToArray()).ToArray();
            var x = new float[batch * k]; var y = new float[batch * n];
            for (var round = 0; round < 3; round++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                for (var i = 0; i < count; i++) DeepPerception.ML.Runtime.SmallBatchLinear.Compute(x, batch, ws[i % matrices], n, k, default, y);
                var us = sw.Elapsed.TotalMilliseconds * 1000 / count;
                output.WriteLine($"kernel cold {n}x{k} batch {batch}: {us:F1} µs, {4.0 * n * k / us / 1000:F1} GB/s of weights");
            }

            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var wts = ws.Select(a => torch.tensor(a, [n, k])).ToArray();
            var xt = torch.randn(batch, k);
            for (var round = 0; round < 3; round++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                for (var i = 0; i < count; i++)
                {
                    using var yt = torch.nn.functional.linear(xt, wts[i % matrices]);
                }

                var us = sw.Elapsed.TotalMilliseconds * 1000 / count;
                output.WriteLine($"F.linear cold {n}x{k} batch {batch}: {us:F1} µs, {4.0 * n * k / us / 1000:F1} GB/s of weights");
            }
        }

        return 0;
    }

    /// <summary>
    /// Times decoder-sized linear layers on <paramref name="batch"/> rows several ways (<c>F.linear(x, W)</c>,
    /// <c>x·Wᵀ</c> with a contiguous transposed copy, <c>(W·xᵀ)ᵀ</c>, and one matrix-vector product per row), to see how
    /// the BLAS handles small-M products.
    /// </summary>
    private static int LinearShapes(int batch, int count, TextWriter output)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var (outF, inF) in new[] { (1408, 512), (512, 1408), (512, 512), (128, 512), (8192, 512) })
        {
            var w = torch.randn(outF, inF);
            var wt = w.t().contiguous();
            var x = torch.randn(batch, inF);
            var rows = Enumerable.Range(0, batch).Select(i => x[i]).ToArray();
            for (var round = 0; round < 2; round++)
            {
                var linear = Time(count, () => torch.nn.functional.linear(x, w));
                var pretransposed = Time(count, () => x.matmul(wt));
                var swapped = Time(count, () => w.matmul(x.t()).t());
                var perRow = Time(count, () =>
                {
                    using var s = torch.NewDisposeScope();
                    return torch.stack(rows.Select(r => w.mv(r)).ToArray()).MoveToOuterDisposeScope();
                });
                var kernel = Time(count, () => DeepPerception.ML.Runtime.SmallBatchLinear.TryForward(x, w, null) ?? torch.nn.functional.linear(x, w));
                output.WriteLine($"{outF}x{inF} batch {batch}: F.linear {linear:F1} µs, x·Wt {pretransposed:F1} µs, (W·xᵀ)ᵀ {swapped:F1} µs, per-row mv {perRow:F1} µs, small-batch kernel {kernel:F1} µs");
            }
        }

        return 0;
    }

    private static double Time(int count, Func<torch.Tensor> op)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            using var y = op();
        }

        return sw.Elapsed.TotalMilliseconds * 1000 / count;
    }

    private static string Format((double Prefill, double Decode, int[] Tokens) g) =>
        $"prefill {g.Prefill * 1000:F1} ms, decode {g.Decode * 1000:F1} ms ({g.Tokens.Length} tokens)";
}
