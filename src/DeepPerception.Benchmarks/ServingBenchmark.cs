using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DeepPerception.Client;
using DeepPerception.Data.Synth;

namespace DeepPerception.Benchmarks;

/// <summary>Settings of the serving benchmark.</summary>
public sealed record ServingBenchmarkOptions
{
    /// <summary>The one-process host's built assembly (found next to the repository's Release build when null).</summary>
    public string? HostDll { get; init; }

    /// <summary>Concurrency levels.</summary>
    public IReadOnlyList<int> Concurrency { get; init; } = [1, 4, 16, 32];

    /// <summary>Requests per concurrency level (at least 4 × the level are sent).</summary>
    public int Requests { get; init; } = 96;

    /// <summary>Most requests in one dynamic batch when batching is on.</summary>
    public int MaxBatch { get; init; } = 16;

    /// <summary>Batch wait in milliseconds when batching is on.</summary>
    public double MaxWaitMs { get; init; } = 5;

    /// <summary>Longest completion per request.</summary>
    public int MaxNewTokens { get; init; } = 48;

    /// <summary>SFT steps of the quick training that produces the served model.</summary>
    public int TrainSteps { get; init; } = 40;

    /// <summary>Scratch folder (data directory of the host processes).</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>Where to write the Markdown report.</summary>
    public string? OutputPath { get; init; }
}

/// <summary>One measured request.</summary>
internal readonly record struct Sample(double LatencyMs, double ModelMs, double SiloMs, double ApiMs, int BatchSize, int GeneratedTokens, double PreprocessMs);

/// <summary>The figures of one mode at one concurrency level.</summary>
internal sealed record LevelResult(string Mode, int Concurrency, int Requests, int Errors, double Seconds, IReadOnlyList<Sample> Samples)
{
    public double Throughput => Samples.Count / Seconds;

    public double P50 => Percentile(0.50);

    public double P99 => Percentile(0.99);

    public double MeanBatch => Samples.Count == 0 ? 0 : Samples.Average(s => s.BatchSize);

    public double MeanModelMs => Samples.Count == 0 ? 0 : Samples.Average(s => s.ModelMs);

    /// <summary>Mean number of generated tokens per answer.</summary>
    public double MeanTokens => Samples.Count == 0 ? 0 : Samples.Average(s => s.GeneratedTokens);

    /// <summary>Mean of the answers' preprocessing time: decoding the own image plus preprocessing the whole batch on the device thread.</summary>
    public double MeanPreprocessMs => Samples.Count == 0 ? 0 : Samples.Average(s => s.PreprocessMs);

    public double MeanLatencyMs => Samples.Count == 0 ? 0 : Samples.Average(s => s.LatencyMs);

    /// <summary>Mean time the API spent on a request (authentication, quota and model checks, the grain call).</summary>
    public double MeanApiMs => Samples.Count == 0 ? 0 : Samples.Average(s => s.ApiMs);

    /// <summary>Mean time from the request's arrival on the GPU silo to its answer (decoding, queueing, model).</summary>
    public double MeanSiloMs => Samples.Count == 0 ? 0 : Samples.Average(s => s.SiloMs);

    /// <summary>Time outside the model (HTTP, authentication, Orleans, decoding, queueing) as a share of model time.</summary>
    public double OverheadShare => Samples.Count == 0 ? 0 : Samples.Average(s => (s.LatencyMs - s.ModelMs) / s.ModelMs);

    /// <summary>Mean share of model time spent outside the GPU silo (HTTP client, Kestrel, API, Orleans calls).</summary>
    public double HttpOrleansShare => Samples.Count == 0 ? 0 : Samples.Average(s => (s.LatencyMs - s.SiloMs) / s.ModelMs);

    private double Percentile(double p)
    {
        if (Samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = Samples.Select(s => s.LatencyMs).Order().ToArray();
        var rank = Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1);
        return sorted[rank];
    }
}

/// <summary>
/// Drives the real <c>POST /v1/ground</c> endpoint of the one-process host on loopback. It starts the host (a child
/// process) with its demo tenant, trains the demo model with a quick SFT job through the API, promotes the result, then
/// measures throughput and latency at each concurrency level with dynamic batching on; it restarts the host on the
/// same data with batching off (max batch 1) and measures again, so both modes serve the same trained weights.
/// </summary>
public sealed class ServingBenchmark(ServingBenchmarkOptions options, TextWriter log)
{
    private const string Model = "tiny-grounder";

    /// <summary>Requests sent one at a time before measuring.</summary>
    private const int WarmUpRequests = 32;

    /// <summary>The benchmark's requests: 24 KVG-Synth test samples of 224–320 px with 2–4 entities (also timed alone by <c>loop</c>).</summary>
    public static IReadOnlyList<SynthSample> TestSamples() =>
        SynthSplits.Build(SynthWorld.Create(0), 1, 24, seed: 99, new SynthOptions { MinCanvas = 224, MaxCanvas = 320, MaxEntities = 4 }).Test;

    /// <summary>Runs the benchmark and returns the Markdown report.</summary>
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var hostDll = options.HostDll ?? FindHostDll();
        var work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"dp-serving-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        var inputs = TestSamples().Select(s => (Image: s.Image.EncodePng(), Query: s.Target.Label)).ToList();

        var results = new List<LevelResult>();
        string modelNote;
        string secret;
        await using (var host = await HostProcess.StartAsync(hostDll, work, options.MaxBatch, options.MaxWaitMs, log, cancellationToken))
        {
            var admin = host.Client(File.ReadAllText(host.KeyFile).Trim());
            var issued = await admin.CreateTenantKeyAsync("demo", new CreateApiKeyBody("serving-benchmark", "admin"), cancellationToken);
            secret = issued.Secret;
            var tenant = host.Client(secret);

            // The demo tenant's default request rate (600 a minute) would refuse long runs with 429; the benchmark measures
            // serving, not the rate limiter, so it lifts the rate and keeps the GPU-seconds budget.
            var profile = await tenant.GetTenantAsync(cancellationToken);
            await admin.SetBudgetAsync("demo", new SetBudgetBody(profile.GpuSecondsBudget, 1_000_000), cancellationToken);
            modelNote = await TrainAsync(tenant, cancellationToken);
            results.AddRange(await MeasureAsync("batching on", tenant, inputs, cancellationToken));
        }

        await using (var host = await HostProcess.StartAsync(hostDll, work, 1, 0, log, cancellationToken))
        {
            results.AddRange(await MeasureAsync("batching off", host.Client(secret), inputs, cancellationToken));
        }

        return Report(results, modelNote);
    }

    private async Task<string> TrainAsync(DeepPerceptionClient tenant, CancellationToken cancellationToken)
    {
        var recipe = new RecipeBody(Stages: "sft", MaxSteps: options.TrainSteps, LearningRate: 2e-3, BatchSize: 4, CheckpointEvery: options.TrainSteps,
            Settings: new Dictionary<string, string> { ["max_pixels"] = (224 * 224).ToString(CultureInfo.InvariantCulture), ["target"] = "cot" });
        var job = await tenant.CreateFineTuneAsync(new CreateFineTuneBody(Model, "kvg-synth", 1, recipe), cancellationToken);
        log.WriteLine($"training job {job.JobId}: {options.TrainSteps} SFT steps");
        var stopwatch = Stopwatch.StartNew();
        while (job.State is "queued" or "running")
        {
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            job = await tenant.GetFineTuneAsync(job.JobId, cancellationToken);
        }

        if (job.State != "succeeded" || job.ResultModelVersion is not { } version)
        {
            throw new InvalidOperationException($"The quick training job ended {job.State}: {job.StatusMessage} {job.Error}");
        }

        await tenant.PromoteAsync(Model, version, cancellationToken);
        log.WriteLine($"trained in {stopwatch.Elapsed.TotalSeconds:F0} s; serving {Model} v{version}");
        return $"`{Model}` v{version}: the demo tiny Qwen2-VL after {options.TrainSteps} CoT-SFT steps on the demo KVG-Synth dataset " +
               $"(trained through the API in {stopwatch.Elapsed.TotalSeconds:F0} s)";
    }

    private async Task<List<LevelResult>> MeasureAsync(string mode, DeepPerceptionClient client, List<(byte[] Image, string Query)> inputs,
        CancellationToken cancellationToken)
    {
        // Warm-up: load the model and let tiered compilation reach its optimised code (methods are recompiled after 30
        // calls, in the background): 32 requests one at a time, then two rounds of 16 at once for the batched paths.
        for (var i = 0; i < WarmUpRequests; i++)
        {
            await client.GroundAsync(Model, inputs[i % inputs.Count].Image, inputs[i % inputs.Count].Query, maxNewTokens: options.MaxNewTokens,
                cancellationToken: cancellationToken);
        }

        for (var round = 0; round < 2; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(i => client.GroundAsync(Model, inputs[i % inputs.Count].Image, inputs[i % inputs.Count].Query,
                maxNewTokens: options.MaxNewTokens, cancellationToken: cancellationToken)));
        }

        var levels = new List<LevelResult>();
        foreach (var concurrency in options.Concurrency)
        {
            var total = Math.Max(options.Requests, 4 * concurrency);
            var next = -1;
            var samples = new List<Sample>();
            var errors = 0;
            var stopwatch = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < total)
                {
                    var (image, query) = inputs[index % inputs.Count];
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        var answer = await client.GroundAsync(Model, image, query, maxNewTokens: options.MaxNewTokens, cancellationToken: cancellationToken);
                        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        lock (samples)
                        {
                            samples.Add(new Sample(latency, answer.Timings.ModelMs, answer.Timings.TotalMs, answer.Timings.ServerMs, answer.Timings.BatchSize, answer.GeneratedTokens, answer.Timings.PreprocessMs));
                        }
                    }
                    catch (DeepPerceptionApiException e)
                    {
                        Interlocked.Increment(ref errors);
                        log.WriteLine($"  error: {(int)e.Status} {e.Detail}");
                    }
                }
            }, cancellationToken)).ToList();
            await Task.WhenAll(workers);
            var level = new LevelResult(mode, concurrency, total, errors, stopwatch.Elapsed.TotalSeconds, samples);
            levels.Add(level);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode,-13} c={concurrency,2}: {level.Throughput,7:F2} req/s  p50 {level.P50,7:F0} ms  p99 {level.P99,7:F0} ms  batch {level.MeanBatch:F1}  errors {errors}"));
        }

        return levels;
    }

    private string Report(List<LevelResult> results, string modelNote)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("## Serving benchmark (`POST /v1/ground` on loopback)").AppendLine();
        sb.AppendLine(c, $"Model: {modelNote}. Requests: KVG-Synth test images (224–320 px), greedy, at most {options.MaxNewTokens} new tokens; ")
            .AppendLine(c, $"batching on = max batch {options.MaxBatch}, max wait {options.MaxWaitMs} ms (adaptive: a lone request starts at once); off = max batch 1. Each mode is warmed up first ({WarmUpRequests} requests one at a time, then 2 × 16 at once). Machine: {Environment.ProcessorCount} cores, CPU engine, 1 device thread.")
            .AppendLine();
        sb.AppendLine("| mode | concurrency | requests | errors | throughput (req/s) | p50 (ms) | p99 (ms) | mean batch | mean model time (ms) | mean decode + batch preprocess (ms) | mean tokens |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            sb.AppendLine(c, $"| {r.Mode} | {r.Concurrency} | {r.Requests} | {r.Errors} | {r.Throughput:F2} | {r.P50:F0} | {r.P99:F0} | {r.MeanBatch:F1} | {r.MeanModelMs:F0} | {r.MeanPreprocessMs:F1} | {r.MeanTokens:F1} |");
        }

        sb.AppendLine();
        var on16 = results.FirstOrDefault(r => r.Mode == "batching on" && r.Concurrency == 16);
        var off16 = results.FirstOrDefault(r => r.Mode == "batching off" && r.Concurrency == 16);
        var on1 = results.FirstOrDefault(r => r.Mode == "batching on" && r.Concurrency == 1);
        var off1 = results.FirstOrDefault(r => r.Mode == "batching off" && r.Concurrency == 1);
        if (on16 is not null && off16 is not null && off1 is not null)
        {
            var speedup = on16.Throughput / off16.Throughput;
            var p99Ratio = on16.P99 / off1.P50;
            sb.AppendLine(c, $"- Throughput at concurrency 16, batching on vs batch-1: **{speedup:F2}×** (target ≥ 4×).");
            sb.AppendLine(c, $"- p99 at concurrency 16 with batching vs the single-request latency (batch-1, concurrency 1, p50): **{p99Ratio:F2}×** (target ≤ 2×).");
        }

        foreach (var single in new[] { off1, on1 }.OfType<LevelResult>())
        {
            sb.AppendLine(c, $"- HTTP + Orleans + decoding overhead at concurrency 1 ({single.Mode}): mean latency {single.MeanLatencyMs:F1} ms vs model time " +
                             $"{single.MeanModelMs:F1} ms = **{100 * single.OverheadShare:F1} %** of model time (target ≤ 5 %). Where the " +
                             $"{single.MeanLatencyMs - single.MeanModelMs:F1} ms go: HTTP client, Kestrel and the response " +
                             $"{single.MeanLatencyMs - single.MeanApiMs:F1} ms; API checks and the Orleans call {single.MeanApiMs - single.MeanSiloMs:F1} ms; " +
                             $"GPU silo outside the model (image decoding and preprocessing as the request arrives, batch hand-off) {single.MeanSiloMs - single.MeanModelMs:F1} ms.");
            sb.AppendLine(c, $"- HTTP + Orleans alone at concurrency 1 ({single.Mode}): latency − time in the GPU silo = {single.MeanLatencyMs - single.MeanSiloMs:F1} ms = " +
                             $"**{100 * single.HttpOrleansShare:F1} %** of model time (target ≤ 5 %).");
        }

        return sb.ToString();
    }

    private static string FindHostDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "DeepPerception.Host", "bin", "Release", "net10.0", "linux-x64", "DeepPerception.Host.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("DeepPerception.Host.dll not found: build it with `dotnet build -c Release src/DeepPerception.Host` or pass --host.");
    }

    /// <summary>A one-process host started as a child process on free loopback ports.</summary>
    private sealed class HostProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly HttpClient _http;

        private HostProcess(Process process, Uri baseAddress, string keyFile)
        {
            _process = process;
            _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(5) };
            KeyFile = keyFile;
        }

        public string KeyFile { get; }

        public DeepPerceptionClient Client(string key) => new(_http, key);

        public static async Task<HostProcess> StartAsync(string hostDll, string dataDirectory, int maxBatch, double maxWaitMs, TextWriter log,
            CancellationToken cancellationToken)
        {
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet", [hostDll, "--urls", $"http://127.0.0.1:{port}"])
            {
                WorkingDirectory = Path.GetDirectoryName(hostDll)!,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var env = start.Environment;
            env["DeepPerception__DataDirectory"] = dataDirectory;
            env["DeepPerception__SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture);
            env["DeepPerception__GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture);
            env["DeepPerception__Device"] = "cpu";
            env["DeepPerception__ServingMaxBatchSize"] = maxBatch.ToString(CultureInfo.InvariantCulture);
            env["DeepPerception__ServingMaxWaitMs"] = maxWaitMs.ToString(CultureInfo.InvariantCulture);
            env["DeepPerception__ServingMaxPixels"] = (224 * 224).ToString(CultureInfo.InvariantCulture);
            env["Logging__LogLevel__Default"] = "Warning";
            var process = Process.Start(start) ?? throw new InvalidOperationException("The host did not start.");
            var output = new StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var host = new HostProcess(process, new Uri($"http://127.0.0.1:{port}/"), Path.Combine(dataDirectory, "bootstrap-admin-key.txt"));
            var stopwatch = Stopwatch.StartNew();
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (process.HasExited || stopwatch.Elapsed > TimeSpan.FromMinutes(4))
                {
                    var exit = process.HasExited ? process.ExitCode.ToString(CultureInfo.InvariantCulture) : "still running";
                    await host.DisposeAsync();
                    string text;
                    lock (output)
                    {
                        text = output.ToString();
                    }

                    throw new InvalidOperationException($"The host did not become ready (exit: {exit}).\n{text[^Math.Min(text.Length, 4000)..]}");
                }

                try
                {
                    using var ready = await host._http.GetAsync("health/ready", cancellationToken);
                    if (ready.StatusCode == HttpStatusCode.OK && File.Exists(host.KeyFile))
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(500, cancellationToken);
            }

            log.WriteLine($"host ready on port {port} in {stopwatch.Elapsed.TotalSeconds:F0} s (max batch {maxBatch}, max wait {maxWaitMs} ms)");
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
