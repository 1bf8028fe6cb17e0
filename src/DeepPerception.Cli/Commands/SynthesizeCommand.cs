using System.Globalization;
using System.Text.Json;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Data.Synth;
using DeepPerception.Data.Synthesis;
using DeepPerception.Data.Teacher;
using DeepPerception.ML.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Training;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>synthesize</c>: the paper's data-synthesis pipeline on a platform dataset folder (records.jsonl with pixel boxes,
/// images, knowledge.json): multi-entity composites, a knowledge-guided CoT rationale per composite (templated, or from
/// an OpenAI-compatible teacher), IoU-gated rejection, and optionally the RL filter with a CoT-SFT model. Writes
/// <c>platform/</c> and <c>sharegpt/</c> (the SFT CoT dataset), <c>report.json</c>, and with <c>--rl-model</c>
/// <c>rl/</c> (the prompts solved 1 … G − 1 times out of G, platform format) with <c>rl/report.json</c>.
/// </summary>
public sealed class SynthesizeCommand : ICliCommand
{
    /// <inheritdoc />
    public string Name => "synthesize";

    /// <inheritdoc />
    public string Summary => "Composites, CoT rationales (templated or an external teacher), IoU gate and RL filter on a platform dataset folder.";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("data", "DIR", "platform dataset folder (records.jsonl, images, knowledge.json)", Required: true),
        new("out", "DIR", "output folder", Required: true),
        new("composites", "N", "composites to build, one target each (default 100)"),
        new("seed", "N", "composition seed (default 0)"),
        new("min-objects", "N", "fewest entities per composite (default 2)"),
        new("max-objects", "N", "most entities per composite (default 6)"),
        new("max-canvas", "N", "largest canvas side in pixels (default 896; the smallest is half of it)"),
        new("iou-threshold", "X", "IoU a rationale's final box must reach to be kept (default 0.5)"),
        new("teacher-endpoint", "URL", "OpenAI-compatible API base (e.g. http://host:8000/v1); without it rationales are templated"),
        new("teacher-model", "NAME", "teacher model name (required with --teacher-endpoint)"),
        new("teacher-key-env", "VAR", "environment variable holding the teacher's API key"),
        new("teacher-concurrency", "N", "teacher requests in flight (default 4)"),
        new("teacher-retries", "N", "retries per request on 5xx, 429, timeouts (default 3)"),
        new("teacher-timeout", "SECONDS", "time allowed per request (default 120)"),
        new("rl-model", "DIR", "CoT-SFT model folder: keep for GRPO the kept composites it solves 1..G-1 times out of G"),
        new("rl-generations", "N", "samples per prompt for the RL filter (default 4)"),
        new("rl-max-new-tokens", "N", "generation budget per RL-filter sample (default 512)"),
        .. DeviceOptions.Options,
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var dataDir = args.ExistingDirectory("data");
        var outDir = args.Required("out");
        var maxCanvas = args.Int("max-canvas", 896, 64, 1 << 14);
        var composite = new CompositeOptions
        {
            MinObjects = args.Int("min-objects", 2, 2, 64),
            MaxObjects = args.Int("max-objects", 6, 2, 64),
            MaxCanvas = maxCanvas,
            MinCanvas = Math.Max(32, maxCanvas / 2),
            MinObjectSize = Math.Max(16, maxCanvas / 8),
        };
        var iou = args.PositiveDouble("iou-threshold", 0.5);
        if (iou > 1)
        {
            throw new CliUsageException("--iou-threshold", $"must lie in (0, 1] (got {iou.ToString(CultureInfo.InvariantCulture)}).");
        }

        var options = new SynthesisOptions
        {
            Composites = args.Int("composites", 100, 1),
            Seed = args.Int("seed", 0, 0),
            Composite = composite,
            IouThreshold = iou,
        };
        try
        {
            composite.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException("--max-objects", e.Message);
        }

        var rlModel = args.Has("rl-model") ? args.ExistingDirectory("rl-model") : null;
        using var external = CreateTeacher(args);
        IRationaleTeacher teacher = external is null ? new TemplatedRationaleTeacher() : external;
        var data = PlatformDatasetReader.Load(dataDir);
        await context.Out.WriteLineAsync($"data: {data.Images.Count} labelled images, {data.Knowledge.Count} knowledge entries; teacher: {teacher.Name}").ConfigureAwait(false);

        var pipeline = new SynthesisPipeline(teacher, options with { MaxParallelRequests = external is null ? 1 : args.Int("teacher-concurrency", 4, 1, 256) });
        var result = await pipeline.RunAsync(data, cancellationToken: cancellationToken).ConfigureAwait(false);
        SynthesisExporter.Write(result, data.Knowledge, outDir);
        var r = result.Report;
        await context.Out.WriteLineAsync(
            $"gate: {r.Composites} composites, kept {r.Kept}, rejected {r.RejectedTotal} (" +
            string.Join(", ", r.Rejected.Select(kv => $"{SynthesisExporter.ReasonName(kv.Key)} {kv.Value}")) + $"); IoU threshold {r.IouThreshold.ToString(CultureInfo.InvariantCulture)}").ConfigureAwait(false);
        await context.Out.WriteLineAsync($"sft: {Path.Combine(outDir, SynthesisExporter.PlatformFolder)} (platform JSONL), {Path.Combine(outDir, SynthesisExporter.ShareGptFolder, SynthesisExporter.ShareGptFile)} (ShareGPT); report: {Path.Combine(outDir, SynthesisExporter.ReportFile)}").ConfigureAwait(false);
        foreach (var error in result.Rejected.Where(x => x.Error is not null).Select(x => x.Error).Distinct().Take(3))
        {
            await context.Error.WriteLineAsync($"teacher error: {error}").ConfigureAwait(false);
        }

        if (rlModel is not null && result.Kept.Count > 0)
        {
            await FilterForRlAsync(args, context, rlModel, result, data, outDir, cancellationToken).ConfigureAwait(false);
        }

        return result.Kept.Count > 0 ? CliApp.Success : CliApp.Failure;
    }

    private static ChatRationaleTeacher? CreateTeacher(CliArguments args)
    {
        var endpoint = args.String("teacher-endpoint");
        if (endpoint is null)
        {
            foreach (var o in new[] { "teacher-model", "teacher-key-env" })
            {
                if (args.Has(o))
                {
                    throw new CliUsageException($"--{o}", "needs --teacher-endpoint.");
                }
            }

            return null;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliUsageException("--teacher-endpoint", $"'{endpoint}' is not an absolute http(s) address.");
        }

        var model = args.String("teacher-model");
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new CliUsageException("--teacher-model", "is required with --teacher-endpoint.");
        }

        string? key = null;
        if (args.String("teacher-key-env") is { } variable)
        {
            key = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(key))
            {
                throw new CliUsageException("--teacher-key-env", $"the environment variable '{variable}' is not set.");
            }
        }

        return ChatRationaleTeacher.CreateOpenAICompatible(new TeacherOptions
        {
            Endpoint = uri,
            Model = model,
            ApiKey = key,
            MaxConcurrency = args.Int("teacher-concurrency", 4, 1, 256),
            MaxRetries = args.Int("teacher-retries", 3, 0, 100),
            RequestTimeout = TimeSpan.FromSeconds(args.PositiveDouble("teacher-timeout", 120)),
        });
    }

    private static async Task FilterForRlAsync(CliArguments args, CliContext context, string modelDir, SynthesisResult result, LabelledDataset data,
        string outDir, CancellationToken cancellationToken)
    {
        var device = DeviceOptions.Read(args);
        var generations = args.Int("rl-generations", 4, 2, 64);
        var maxNewTokens = args.Int("rl-max-new-tokens", 512, 1, 1 << 16);
        var seed = args.Int("seed", 0, 0);
        var samples = result.Kept.Select(k => k.Composite.Sample).ToList();
        using var worker = device.CreateWorker();
        var filter = await worker.RunAsync(() =>
        {
            using var kvg = KvgModel.Load(modelDir, worker.Device);
            var prompts = samples.Select(s => kvg.GrpoPrompt(new RgbImage(s.Image.Width, s.Image.Height, s.Image.Pixels), s.Query, SynthTargets.AnswerBlock(s), s.Id)).ToList();
            return RlDifficultyFilter.Run(kvg, prompts, new RlFilterOptions { Generations = generations, MaxNewTokens = maxNewTokens, Seed = seed }, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);

        var rlDir = Path.Combine(outDir, "rl");
        var kept = filter.Kept(samples);
        SynthExporter.ExportPlatform(kept, data.Knowledge.Where(kv => kept.Any(s => s.Objects.Any(o => o.Label == kv.Key))).ToDictionary(kv => kv.Key, kv => kv.Value), rlDir);
        await using (var stream = File.Create(Path.Combine(rlDir, "report.json")))
        {
            await JsonSerializer.SerializeAsync(stream, new
            {
                candidates = samples.Count,
                generations,
                correctHistogram = filter.Histogram,
                kept = kept.Count,
                correctCounts = samples.Select((s, i) => new { id = s.Id, correct = filter.CorrectCounts[i] }),
            }, new JsonSerializerOptions { WriteIndented = true }, cancellationToken).ConfigureAwait(false);
        }

        await context.Out.WriteLineAsync(
            $"rl filter: {samples.Count} prompts x {generations} samples, correct-count histogram [{string.Join(", ", filter.Histogram)}], kept {kept.Count} in {rlDir}").ConfigureAwait(false);
    }
}
