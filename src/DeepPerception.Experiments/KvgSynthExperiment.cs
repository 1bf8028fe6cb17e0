using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepPerception.Data.Synth;
using DeepPerception.Kvg;
using DeepPerception.ML.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Preprocessing.Text;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using DeepPerception.ML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.Experiments;

/// <summary>
/// The miniature DeepPerception replication on KVG-Synth. On one device-worker thread it builds the seeded world and
/// splits, trains a byte-level BPE tokenizer, builds and initialises a small Qwen2-VL, trains a base model (knowledge
/// text of all ten domains plus generic attribute grounding on random shapes), then from the base: direct SFT (raw
/// prompt → native answer), CoT-SFT (r1 prompt → IoU-gated templated rationales) and CoT-SFT + GRPO (prompts filtered to
/// those the CoT-SFT model gets right 1 … G − 1 times, IoU + format rewards, the CoT-SFT model as frozen reference).
/// Evaluates the four variants on the test split with <see cref="KvgEvaluator"/> and writes <c>results.json</c>,
/// each variant's score, predictions and entity-confusion matrix, and per-stage training metrics (jsonl).
/// </summary>
public static class KvgSynthExperiment
{
    /// <summary>The evaluated variants, in order.</summary>
    public static IReadOnlyList<string> Variants { get; } = ["base", "direct-sft", "cot-sft", "cot-sft-grpo"];

    private static readonly string[] KnowledgeQuestions =
    [
        "What does {0} look like?",
        "How can I recognise {0}?",
        "How does {0} differ from its family?",
    ];

    /// <summary>Runs the experiment synchronously (on its own device worker) and returns its results.</summary>
    public static ExperimentResult Run(ExperimentOptions options, Action<string> log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        options.Validate();
        using var worker = new DeviceWorker(CPU, options.Threads, "kvg-synth");
        return worker.RunAsync(() => new Runner(options, log, cancellationToken).Run(), cancellationToken).GetAwaiter().GetResult();
    }

    private sealed class Runner(ExperimentOptions o, Action<string> log, CancellationToken ct)
    {
        private readonly Dictionary<string, double> _timings = new(StringComparer.Ordinal);
        private readonly List<StageReport> _stages = [];
        private readonly string _dir = Path.GetFullPath(o.OutputDirectory);
        private QwenTokenizer _tokenizer = null!;
        private Qwen2VLImageProcessor _processor = null!;
        private string _tokenizerDir = null!;

        public ExperimentResult Run()
        {
            var total = Stopwatch.StartNew();
            Directory.CreateDirectory(_dir);
            Directory.CreateDirectory(Path.Combine(_dir, "metrics"));
            var sw = Stopwatch.StartNew();

            // 1. KVG-Synth.
            var world = SynthWorld.Create(o.Seed);
            var split = SynthSplits.Build(world, o.TrainSamples + o.RlCandidates, o.TestSamples, o.Seed, o.Synth);
            var test = split.Test.ToList();
            var shapes = new AttributeGroundingGenerator(o.Seed, o.Synth);
            var corpus = world.KnowledgeCorpus();
            var knowledge = KnowledgePairs(world, corpus, o.KnowledgePerEntity);
            SynthExporter.WriteKnowledgeCorpus(world, Path.Combine(_dir, "knowledge.txt"));
            var baselines = BoxBaselines.Compute(test, o.RandomBoxTrials, o.Seed);
            log($"data: world seed {o.Seed}, {o.TrainSamples} SFT + {o.RlCandidates} RL-candidate train samples (seen domains), {test.Count} test samples (10 domains), " +
                $"{knowledge.Count} knowledge pairs; baselines Acc@0.5: uniform box {baselines.UniformRandomBox:F1}, centre box {baselines.CentreBox:F1}, " +
                $"random object {baselines.RandomObject:F1}, largest object {baselines.LargestObject:F1}");

            // 2 and 3. Tokenizer, model and base; or the base of an earlier run.
            var (baseDir, shapesSeen) = o.BaseFrom is { } earlier
                ? ReuseBase(earlier)
                : (TrainBase(world, split, shapes, corpus, knowledge, sw), o.ShapeImages);
            var baseShapes = EvaluateShapes(baseDir, shapes, shapesSeen);

            // 4a/4b. Direct SFT and CoT-SFT from the base, on the same samples with the same knowledge replay.
            var rng = new Random(o.Seed);
            var replay = knowledge.OrderBy(_ => rng.Next()).Take((int)Math.Round(o.KnowledgeReplay * o.TrainSamples)).Select(k => TextExample(k.Question, k.Answer)).ToList();
            var direct = new List<TrainingExample>(replay);
            var cot = new List<TrainingExample>(replay);
            var rejected = 0;
            for (var i = 0; i < o.TrainSamples; i++)
            {
                var s = split.Train[i];
                direct.Add(DirectExample(s));
                if (CotExample(s) is { } example)
                {
                    cot.Add(example);
                }
                else
                {
                    rejected++;
                }
            }

            log($"sft data: {direct.Count} direct examples, {cot.Count} CoT examples ({rejected} rationales rejected by the IoU gate), {replay.Count} knowledge replay each");
            var directDir = TrainSft("direct-sft", baseDir, direct, o.Sft);
            direct.Clear();
            var cotDir = TrainSft("cot-sft", baseDir, cot, o.Sft);
            cot.Clear();

            // 4c. RL filter and GRPO from the CoT-SFT model.
            var (rlPrompts, filter) = FilterRlPrompts(cotDir, split);
            var (grpoDir, grpoReward) = TrainGrpo(cotDir, rlPrompts);

            // 5. Evaluation.
            var items = SynthExporter.ToKvgBenchItems(test).ToList();
            var rows = new List<VariantRow>();
            var scores = new JsonObject();
            var confusions = new JsonObject();
            var outcomes = new Dictionary<string, IReadOnlyList<KvgOutcome>>();
            foreach (var (variant, folder, style) in new[]
                     {
                         ("base", baseDir, KvgPromptStyle.R1), ("direct-sft", directDir, KvgPromptStyle.None),
                         ("cot-sft", cotDir, KvgPromptStyle.R1), ("cot-sft-grpo", grpoDir, KvgPromptStyle.R1),
                     })
            {
                var (row, score, confusion, answers) = Evaluate(variant, folder, style, items, test);
                rows.Add(row);
                outcomes[variant] = answers;
                scores[variant] = JsonNode.Parse(PythonJson.Serialize(KvgEvalOutput.Summary(score)));
                confusions[variant] = ConfusionJson(confusion);
            }

            _timings["total"] = total.Elapsed.TotalSeconds;
            var iouReward = o.ContinuousIouReward ? "continuous" : "thresholded-" + o.IouRewardThreshold.ToString(CultureInfo.InvariantCulture);
            var comparisons = VariantComparisons.Compute(outcomes, o.Seed);
            var resultsPath = WriteResults(rows, scores, confusions, baselines, filter, iouReward, grpoReward, comparisons, baseShapes);
            PrintTable(rows, baselines, iouReward, comparisons);
            return new ExperimentResult(rows, baselines, _stages, filter, iouReward, grpoReward, resultsPath, _timings, comparisons, baseShapes);
        }

        private string TrainBase(SynthWorld world, SynthSplit split, AttributeGroundingGenerator shapes, IReadOnlyList<string> corpus,
            List<(string Question, string Answer)> knowledge, Stopwatch sw)
        {
            var (background, backgroundWorlds, backgroundNames) = Background(world);
            if (background.Count > 0)
            {
                log($"background knowledge: {background.Count} pairs about entities of {o.BackgroundWorlds} other worlds");
            }

            var initDir = BuildTokenizerAndModel(world, split, shapes, corpus, knowledge, background);
            Lap("data+tokenizer+init", sw);

            var baseExamples = knowledge.Concat(background).Select(k => TextExample(k.Question, k.Answer)).ToList();
            var generators = backgroundWorlds.Select(w => new SynthGenerator(w, o.Synth)).ToList();
            var cotImages = 0;
            for (int i = 0, added = 0; added < o.BackgroundImages; i++)
            {
                // Named grounding on other worlds' entities of all ten domains; a target whose name was left out of the
                // background knowledge (its family is the experiment's) is skipped.
                var s = generators[i % generators.Count].Generate(SynthDomains.All[i / generators.Count % SynthDomains.All.Count], BackgroundStream, i);
                if (backgroundNames.Contains(s.Target.Label))
                {
                    var example = o.IsBackgroundCot(added) ? CotExample(s) : null;
                    cotImages += example is null ? 0 : 1;
                    baseExamples.Add(example ?? DirectExample(s));
                    added++;
                }
                else if (i > 10 * (o.BackgroundImages + 10))
                {
                    throw new InvalidOperationException($"The background worlds name too few targets of their own for {o.BackgroundImages} images.");
                }
            }

            if (o.BackgroundImages > 0)
            {
                log($"background images: {o.BackgroundImages} that name other worlds' entities, {cotImages} of them as CoT examples");
            }

            for (var i = 0; i < o.ShapeSamples; i++)
            {
                var s = shapes.Generate(i);
                baseExamples.Add(DirectExample(s));
            }

            for (var i = 0; i < o.DenseShapeSamples; i++)
            {
                // Images the single-target examples do not use.
                var s = shapes.Generate(o.ShapeSamples + i);
                baseExamples.Add(GroundingExample(s, AttributeGroundingGenerator.DenseQuery, AttributeGroundingGenerator.DenseTarget(s), KvgPromptStyle.None));
            }

            for (var i = 0; i < o.ShapeCotSamples; i++)
            {
                // Grounding after a rationale, on further images: the box comes a hundred tokens after the image, as in CoT.
                var s = shapes.Generate(o.ShapeSamples + o.DenseShapeSamples + i);
                baseExamples.Add(GroundingExample(s, s.Query, SynthTargets.Cot(s, o.CotLayout), KvgPromptStyle.R1));
            }

            return TrainSft("base", initDir, baseExamples, o.Base);
        }

        /// <summary>
        /// Takes the tokenizer and base model of an earlier run instead of training them again; returns the base folder and
        /// how many shape images that run trained on (read from its <c>results.json</c>), so the shape score stays held out.
        /// </summary>
        private (string BaseDir, int ShapesSeen) ReuseBase(string earlierRun)
        {
            var earlier = Path.GetFullPath(earlierRun);
            var baseDir = Path.Combine(earlier, "models", "base");
            _tokenizerDir = Path.Combine(earlier, "tokenizer");
            if (!File.Exists(Path.Combine(baseDir, "config.json")) || !File.Exists(Path.Combine(_tokenizerDir, "tokenizer.json")))
            {
                throw new ArgumentException($"{earlier} holds no base model and tokenizer (models/base/config.json, tokenizer/tokenizer.json) of a finished run.", nameof(ExperimentOptions.BaseFrom));
            }

            // The reused model keeps its own shape and positions; a run whose options say otherwise would report settings it
            // never trained with.
            var saved = Qwen2VLConfig.FromFile(Path.Combine(baseDir, "config.json"));
            var mismatches = new List<string>();
            void Compare<T>(string setting, T savedValue, T asked)
            {
                if (!EqualityComparer<T>.Default.Equals(savedValue, asked))
                {
                    mismatches.Add(string.Create(CultureInfo.InvariantCulture, $"{setting} {savedValue} (this run: {asked})"));
                }
            }

            Compare("rope theta", saved.RopeTheta, o.RopeTheta);
            Compare("interleaved M-RoPE", saved.MropeInterleaved, o.MropeInterleaved);
            Compare("hidden size", saved.HiddenSize, o.Model.Hidden);
            Compare("decoder layers", saved.NumHiddenLayers, o.Model.Layers);
            Compare("vision depth", saved.Vision.Depth, o.Model.VisionDepth);
            if (mismatches.Count > 0)
            {
                throw new ArgumentException($"{baseDir} was trained with {string.Join(", ", mismatches)}; give the base run's model settings.",
                    nameof(ExperimentOptions.BaseFrom));
            }

            // The earlier run's options say how many shape images its base trained on (older runs lack ShapeCotSamples).
            var resultsPath = Path.Combine(earlier, "results.json");
            int shapesSeen;
            try
            {
                var options = JsonNode.Parse(File.ReadAllText(resultsPath))?["options"] as JsonObject
                    ?? throw new InvalidDataException("it has no options object");
                int Count(string name, bool required) => options[name]?.GetValue<int>()
                    ?? (required ? throw new InvalidDataException($"options.{name} is missing") : 0);
                shapesSeen = Count("ShapeSamples", true) + Count("DenseShapeSamples", true) + Count("ShapeCotSamples", false);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or JsonException or InvalidOperationException or FormatException)
            {
                throw new ArgumentException($"{resultsPath} is not the results.json of a finished run (its options name the base's shape samples): {e.Message}",
                    nameof(ExperimentOptions.BaseFrom), e);
            }

            _tokenizer = QwenTokenizer.FromDirectory(_tokenizerDir);
            _processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { MaxPixels = o.MaxPixels });
            log($"base: reusing {baseDir} and its tokenizer (no base training in this run; it saw {shapesSeen} shape images)");
            return (baseDir, shapesSeen);
        }

        private void Lap(string name, Stopwatch sw)
        {
            _timings[name] = sw.Elapsed.TotalSeconds;
            log($"[{name}] {sw.Elapsed.TotalSeconds:F0}s");
            sw.Restart();
        }

        /// <summary>Sample stream of the background worlds' grounding images (the splits use 1 and 2).</summary>
        private const int BackgroundStream = 3;

        /// <summary>
        /// Knowledge pairs about the entities of <see cref="ExperimentOptions.BackgroundWorlds"/> other worlds, less those
        /// whose family stem or name is already taken (by the experiment's world or an earlier background world); the
        /// worlds; and the names kept.
        /// </summary>
        private (List<(string Question, string Answer)> Pairs, List<SynthWorld> Worlds, HashSet<string> Names) Background(SynthWorld world)
        {
            var stems = world.Entities.Select(e => e.Family).ToHashSet(StringComparer.Ordinal);
            var pairs = new List<(string, string)>();
            var worlds = new List<SynthWorld>();
            var backgroundNames = new HashSet<string>(StringComparer.Ordinal);
            for (var w = 1; w <= o.BackgroundWorlds; w++)
            {
                var other = SynthWorld.Create(unchecked(o.Seed + 100_003 * w));
                worlds.Add(other);
                var fresh = other.Entities.Where(e => !stems.Contains(e.Family) && !world.Contains(e.Name) && !backgroundNames.Contains(e.Name))
                    .Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
                stems.UnionWith(other.Entities.Where(e => fresh.Contains(e.Name)).Select(e => e.Family));
                backgroundNames.UnionWith(fresh);
                pairs.AddRange(KnowledgePairs(other, other.KnowledgeCorpus(), o.KnowledgePerEntity, e => fresh.Contains(e.Name)));
            }

            return (pairs, worlds, backgroundNames);
        }

        private static List<(string Question, string Answer)> KnowledgePairs(SynthWorld world, IReadOnlyList<string> corpus, int perEntityWanted,
            Func<SynthEntity, bool>? include = null)
        {
            // KnowledgeCorpus lists three sentences per entity, in entity order.
            var perEntity = corpus.Count / world.Entities.Count;
            var pairs = new List<(string, string)>();
            for (var i = 0; i < world.Entities.Count; i++)
            {
                if (include is not null && !include(world.Entities[i]))
                {
                    continue;
                }

                var reference = KvgPrompts.ObjectRefStart + world.Entities[i].Name + KvgPrompts.ObjectRefEnd;
                for (var k = 0; k < Math.Min(Math.Min(perEntity, KnowledgeQuestions.Length), perEntityWanted); k++)
                {
                    pairs.Add((string.Format(CultureInfo.InvariantCulture, KnowledgeQuestions[k], reference), corpus[i * perEntity + k]));
                }
            }

            return pairs;
        }

        private string BuildTokenizerAndModel(SynthWorld world, SynthSplit split, AttributeGroundingGenerator shapes, IReadOnlyList<string> corpus,
            List<(string Question, string Answer)> knowledge, List<(string Question, string Answer)> background)
        {
            var texts = new List<string>(corpus);
            texts.AddRange(knowledge.Select(k => k.Question));
            texts.AddRange(background.SelectMany(k => new[] { k.Question, k.Answer }));
            texts.Add(ChatTemplate.DefaultSystemPrompt);
            texts.Add(ChatTemplate.FormatGroundingQuestion("user assistant system"));
            for (var i = 0; i < Math.Min(o.TrainSamples, 300); i++)
            {
                var s = split.Train[i];
                texts.Add(s.Query);
                texts.Add(SynthTargets.Cot(s, o.CotLayout));
            }

            for (var i = 0; i < Math.Min(o.ShapeSamples, 200); i++)
            {
                var s = shapes.Generate(i);
                texts.Add(s.Query);
                texts.Add(SynthTargets.Direct(s));
            }

            var bpe = BpeTrainer.Train(texts, o.VocabSize);
            _tokenizerDir = Path.Combine(_dir, "tokenizer");
            bpe.SaveDirectory(_tokenizerDir);
            _tokenizer = QwenTokenizer.FromDirectory(_tokenizerDir);
            _processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { MaxPixels = o.MaxPixels });
            var sample = split.Train[0];
            log($"tokenizer: {bpe.VocabSize} tokens ({bpe.Merges.Count} merges); a CoT target is {_tokenizer.Encode(SynthTargets.Cot(sample, o.CotLayout)).Count} tokens, " +
                $"a direct target {_tokenizer.Encode(SynthTargets.Direct(sample)).Count}, an image {_processor.Process(ToRgb(sample.Image)).TokenCount}");

            int Id(string token) => _tokenizer.TokenToId(token) ?? throw new InvalidOperationException($"The trained tokenizer lacks {token}.");
            var m = o.Model;
            var half = m.Hidden / m.Heads / 2;
            var h = o.MropeInterleaved ? half * 5 / 16 : (half - Math.Max(1, half / 4)) / 2;
            var t = o.MropeInterleaved ? half - 2 * h : Math.Max(1, half / 4);
            var config = new Qwen2VLConfig
            {
                VocabSize = bpe.VocabSize, HiddenSize = m.Hidden, IntermediateSize = m.Intermediate, NumHiddenLayers = m.Layers,
                NumAttentionHeads = m.Heads, NumKeyValueHeads = m.KvHeads, MropeSection = [t, h, half - t - h], MaxPositionEmbeddings = 4096,
                RopeTheta = o.RopeTheta, MropeInterleaved = o.MropeInterleaved,
                BosTokenId = Id(QwenSpecialTokens.EndOfText), EosTokenId = Id(QwenSpecialTokens.ImEnd),
                VisionStartTokenId = Id(QwenSpecialTokens.VisionStart), VisionEndTokenId = Id(QwenSpecialTokens.VisionEnd),
                VisionTokenId = Id(QwenSpecialTokens.VisionPad), ImageTokenId = Id(QwenSpecialTokens.ImagePad), VideoTokenId = Id(QwenSpecialTokens.VideoPad),
                Vision = new Qwen2VLVisionConfig { Depth = m.VisionDepth, EmbedDim = m.VisionEmbed, NumHeads = m.VisionHeads, MlpRatio = 2, HiddenSize = m.Hidden },
            }.Validate();
            using var model = new Qwen2VLForConditionalGeneration(config);
            model.InitializeWeights(o.Seed);
            var parameters = model.parameters().Sum(p => p.numel());
            log($"model: hidden {m.Hidden}, {m.Layers} layers, vision {m.VisionEmbed}×{m.VisionDepth}, rope theta {o.RopeTheta:G}{(o.MropeInterleaved ? " (interleaved M-RoPE)" : "")}, {parameters / 1e6:F2}M parameters");
            return SaveModel(model, "init");
        }

        private string SaveModel(Qwen2VLForConditionalGeneration model, string name)
        {
            var folder = Path.Combine(_dir, "models", name);
            Directory.CreateDirectory(folder);
            Qwen2VLCheckpoint.Save(model, folder);
            foreach (var file in Directory.GetFiles(_tokenizerDir))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
            }

            return folder;
        }

        private KvgModel LoadKvg(string folder) =>
            new(Qwen2VLCheckpoint.Load(folder), _tokenizer, _processor, BoxConventions.For("qwen2-vl"));

        private static RgbImage ToRgb(SynthImage image) => new(image.Width, image.Height, image.Pixels);

        private TrainingExample TextExample(string question, string answer)
        {
            var encoded = ChatTemplate.Encode(_tokenizer, [ChatMessage.User(question), ChatMessage.Assistant(answer)], addGenerationPrompt: false);
            return new TrainingExample(encoded.InputIds.Select(i => (long)i).ToArray(), encoded.AssistantMask.ToArray(), null, []);
        }

        /// <summary>A sample's direct example: the raw query, Qwen2-VL's native answer.</summary>
        private TrainingExample DirectExample(SynthSample s) => GroundingExample(s, s.Query, SynthTargets.Direct(s), KvgPromptStyle.None);

        /// <summary>A sample's CoT example in the run's layout (the R1 prompt), or null when the IoU gate rejects its rationale.</summary>
        private TrainingExample? CotExample(SynthSample s)
        {
            var rationale = SynthTargets.Cot(s, o.CotLayout);
            return RationaleFilter.Keep(rationale, s.TargetGridBox) ? GroundingExample(s, s.Query, rationale, KvgPromptStyle.R1) : null;
        }

        private TrainingExample GroundingExample(SynthSample sample, string question, string target, KvgPromptStyle style)
        {
            var processed = _processor.Process(ToRgb(sample.Image));
            var messages = new[] { ChatMessage.User(KvgModel.PromptText(question, style), processed.TokenCount), ChatMessage.Assistant(target) };
            var encoded = ChatTemplate.Encode(_tokenizer, messages, addGenerationPrompt: false);
            return new TrainingExample(encoded.InputIds.Select(i => (long)i).ToArray(), encoded.AssistantMask.ToArray(), processed.PixelValues,
                [new ImageGrid(processed.GridT, processed.GridH, processed.GridW)]);
        }

        private Action<TrainingMetrics> MetricsSink(string stage, List<TrainingMetrics> all, StreamWriter writer, int logEvery)
        {
            return m =>
            {
                all.Add(m);
                var line = new JsonObject
                {
                    ["stage"] = m.Stage, ["step"] = m.Step, ["total_steps"] = m.TotalSteps, ["loss"] = Finite(m.Loss), ["lr"] = m.LearningRate,
                    ["grad_norm"] = Finite(m.GradNorm), ["tokens_per_s"] = Math.Round(m.TokensPerSecond, 1), ["elapsed_s"] = Math.Round(m.Elapsed.TotalSeconds, 2),
                };
                foreach (var (k, v) in m.Extra) line[k] = Finite(v);
                writer.WriteLine(line.ToJsonString());
                writer.Flush();
                if (m.Step == 1 || m.Step % logEvery == 0 || m.Step == m.TotalSteps)
                {
                    var extra = m.Extra.TryGetValue("reward", out var r) ? $" reward {r:F3} (iou {m.Extra.GetValueOrDefault("rewards/iou"):F3}, format {m.Extra.GetValueOrDefault("rewards/format"):F3}) kl {m.Extra.GetValueOrDefault("kl"):F4}" : "";
                    log($"  {stage} step {m.Step}/{m.TotalSteps} loss {m.Loss:F4}{extra} lr {m.LearningRate:E2} {m.Elapsed.TotalSeconds:F0}s eta {m.Eta.TotalSeconds:F0}s");
                }
            };
        }

        private static double? Finite(double v) => double.IsFinite(v) ? v : null;

        private string TrainSft(string stage, string fromDir, List<TrainingExample> examples, StageOptions stageOptions)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            using var model = Qwen2VLCheckpoint.Load(fromDir);
            var options = new SftOptions
            {
                LearningRate = stageOptions.LearningRate, WarmupRatio = 0.1, Epochs = stageOptions.Epochs, BatchSize = stageOptions.BatchSize,
                Freeze = new FreezeOptions { Vision = false, Merger = false }, Seed = o.Seed, PadTokenId = _tokenizer.PadTokenId ?? 0, Stage = stage,
                GroupByLength = o.GroupByLength,
            };
            var trainer = new SftTrainer(model, options);
            var total = trainer.TotalSteps(examples.Count);
            log($"[{stage}] {examples.Count} examples, {total} steps of {stageOptions.BatchSize}, lr {stageOptions.LearningRate:E1}");
            var metrics = new List<TrainingMetrics>();
            using (var writer = new StreamWriter(Path.Combine(_dir, "metrics", stage + ".jsonl"), append: false, new UTF8Encoding(false)))
            {
                trainer.Train(examples, MetricsSink(stage, metrics, writer, (int)Math.Max(1, total / 10)), cancellationToken: ct);
            }

            var folder = SaveModel(model, stage);
            _stages.Add(new StageReport(stage, examples.Count, metrics, sw.Elapsed.TotalSeconds));
            Lap(stage, sw);
            return folder;
        }

        private (List<GrpoPrompt> Prompts, RlFilterReport Report) FilterRlPrompts(string cotDir, SynthSplit split)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            using var kvg = LoadKvg(cotDir);
            var g = o.Generations;
            var candidates = Enumerable.Range(0, o.RlCandidates).Select(i =>
            {
                var s = split.Train[o.TrainSamples + i];
                return kvg.GrpoPrompt(ToRgb(s.Image), s.Query, SynthTargets.AnswerBlock(s), s.Id);
            }).ToList();
            var filter = RlDifficultyFilter.Run(kvg, candidates, new RlFilterOptions
            {
                Generations = g, MaxNewTokens = o.MaxCotTokens, Temperature = o.GrpoTemperature, TopK = 50, Seed = o.Seed,
            }, ct);
            var kept = filter.Kept(candidates).ToList();
            var histogram = filter.Histogram;
            var report = new RlFilterReport(candidates.Count, g, histogram, kept.Count);
            log($"rl filter: {candidates.Count} candidates × {g} samples, correct-count histogram [{string.Join(", ", histogram)}], kept {kept.Count}");
            if (kept.Count < o.GrpoPromptsPerStep)
            {
                log($"rl filter: fewer than {o.GrpoPromptsPerStep} prompts have 1..{g - 1} correct samples; GRPO uses all {candidates.Count} candidates instead");
                kept = candidates;
            }

            Lap("rl-filter", sw);
            return (kept, report);
        }

        private (string Folder, GrpoRewardReport Reward) TrainGrpo(string cotDir, List<GrpoPrompt> prompts)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            using var policy = LoadKvg(cotDir);
            using var reference = Qwen2VLCheckpoint.Load(cotDir);
            var threshold = o.IouRewardThreshold;
            var continuous = o.ContinuousIouReward;
            double Iou(string text, GrpoPrompt p) => KvgRewards.IouReward(text, p.Solution, threshold, continuous);
            IRewardFunction[] rewards =
            [
                new DelegateReward("iou", Iou),
                new DelegateReward("format", (text, _) => KvgRewards.FormatReward(text)),
            ];
            var options = new GrpoOptions
            {
                Generations = o.Generations, Temperature = o.GrpoTemperature, TopK = 50, MaxCompletionLength = o.MaxCotTokens,
                LearningRate = o.GrpoLearningRate, Beta = o.GrpoBeta, PromptsPerStep = o.GrpoPromptsPerStep, Epochs = o.GrpoEpochs,
                MaxSteps = o.GrpoMaxSteps, Freeze = new FreezeOptions { Vision = false, Merger = false },
                StopTokenIds = policy.StopTokenIds, PadTokenId = policy.PadTokenId, Seed = o.Seed,
            };
            var trainer = new GrpoTrainer(policy.Model, reference, ids => policy.Decode(ids), rewards, options);
            var total = trainer.TotalSteps(prompts.Count);
            log($"[grpo] {prompts.Count} prompts, {total} steps of {o.GrpoPromptsPerStep} prompts × {o.Generations}, lr {o.GrpoLearningRate:E1}, β {o.GrpoBeta}, " +
                $"iou reward {(continuous ? "continuous" : $"thresholded at {threshold}")}");
            var probeSeed = o.Seed * 31L + 17;
            var probePrompts = prompts.Take(o.GrpoRewardProbePrompts).ToList();
            var (beforeIou, beforeFormat) = ProbeReward(policy, probePrompts, Iou, probeSeed);
            log($"[grpo] reward probe before training: {beforeIou + beforeFormat:F3} (iou {beforeIou:F3}, format {beforeFormat:F3}) over {probePrompts.Count} prompts × {o.GrpoRewardProbeSamples} samples");
            var metrics = new List<TrainingMetrics>();
            using (var writer = new StreamWriter(Path.Combine(_dir, "metrics", "grpo.jsonl"), append: false, new UTF8Encoding(false)))
            using (var rollouts = new StreamWriter(Path.Combine(_dir, "metrics", "grpo-rollouts.jsonl"), append: false, new UTF8Encoding(false)))
            {
                trainer.Train(prompts, MetricsSink("grpo", metrics, writer, (int)Math.Max(1, total / 10)), r =>
                {
                    if (r.Index == 0)
                    {
                        rollouts.WriteLine(JsonSerializer.Serialize(new { step = r.Step, prompt = r.PromptId, completion = r.Completion, rewards = r.Rewards, total = r.Total, advantage = r.Advantage }));
                    }
                }, cancellationToken: ct);
            }

            var (afterIou, afterFormat) = ProbeReward(policy, probePrompts, Iou, probeSeed);
            log($"[grpo] reward probe after training: {afterIou + afterFormat:F3} (iou {afterIou:F3}, format {afterFormat:F3})");
            var report = new GrpoRewardReport(beforeIou + beforeFormat, afterIou + afterFormat, beforeIou, afterIou, beforeFormat, afterFormat,
                probePrompts.Count, o.GrpoRewardProbeSamples, probeSeed);
            var folder = SaveModel(policy.Model, "cot-sft-grpo");
            _stages.Add(new StageReport("grpo", prompts.Count, metrics, sw.Elapsed.TotalSeconds));
            Lap("grpo", sw);
            return (folder, report);
        }

        /// <summary>
        /// Mean IoU and format reward of the policy on (the first <see cref="ExperimentOptions.GrpoRewardProbePrompts"/>) GRPO prompts: <see cref="ExperimentOptions.GrpoRewardProbeSamples"/>
        /// samples per prompt at the rollout temperature, prompt <c>i</c> sampled with seed <c>seed × 7919 + i</c>, so the
        /// probe before and after training draws from the same random stream.
        /// </summary>
        private (double Iou, double Format) ProbeReward(KvgModel policy, List<GrpoPrompt> prompts, Func<string, GrpoPrompt, double> iou, long seed)
        {
            var patch = policy.Model.Config.Vision.PatchInputSize;
            double iouSum = 0, formatSum = 0;
            var n = 0;
            for (var i = 0; i < prompts.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var prompt = prompts[i];
                using var scope = NewDisposeScope();
                var pixels = prompt.PixelValues is null ? null : tensor(prompt.PixelValues, [prompt.PixelValues.Length / patch, patch]);
                var result = Generation.Generate(policy.Model, new GenerationRequest
                {
                    Prompts = Enumerable.Range(0, o.GrpoRewardProbeSamples).Select(_ => new PromptInput(prompt.PromptIds, pixels, prompt.Grids)).ToList(),
                    Options = new GenerationOptions
                    {
                        MaxNewTokens = o.MaxCotTokens, Temperature = o.GrpoTemperature, TopK = 50, Seed = (seed * 7_919L) + i,
                        StopTokenIds = policy.StopTokenIds, PadTokenId = policy.PadTokenId,
                    },
                    CancellationToken = ct,
                });
                foreach (var sequence in result.Sequences)
                {
                    var text = policy.Decode(sequence.Tokens);
                    iouSum += iou(text, prompt);
                    formatSum += KvgRewards.FormatReward(text);
                    n++;
                }
            }

            return n == 0 ? (0, 0) : (iouSum / n, formatSum / n);
        }

        private (VariantRow Row, KvgScore Score, EntityConfusion Confusion, IReadOnlyList<KvgOutcome> Outcomes) Evaluate(string variant, string folder, KvgPromptStyle style,
            List<KvgBenchItem> items, List<SynthSample> test)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            using var kvg = LoadKvg(folder);
            var options = new GroundOptions { Prompt = style, MaxNewTokens = style == KvgPromptStyle.None ? o.MaxDirectTokens : o.MaxCotTokens };
            var evaluation = KvgEvaluator.Evaluate(kvg, items, options, o.EvalBatchSize, cancellationToken: ct);
            var confusion = new EntityConfusion();
            var evalDir = Path.Combine(_dir, "eval", variant);
            Directory.CreateDirectory(evalDir);
            using (var writer = new StreamWriter(Path.Combine(evalDir, "predictions.jsonl"), append: false, new UTF8Encoding(false)))
            {
                for (var i = 0; i < evaluation.Items.Count; i++)
                {
                    var item = evaluation.Items[i];
                    confusion.Add(test[i].Target.Label, item.Match);
                    writer.WriteLine(JsonSerializer.Serialize(new
                    {
                        id = item.QuestionId, domain = item.Category, entity = item.Entity, text = item.Text, iou = Finite(item.Iou), correct = item.Correct,
                        matched = item.Match.Label,
                    }));
                }
            }

            SeenUnseenCount Count(Func<int, bool> counted) =>
                SeenUnseenCount.Of(Enumerable.Range(0, test.Count), i => test[i].Target.Entity?.Domain.IsSeen ?? true, counted);
            var writesKnowledge = Enumerable.Range(0, test.Count)
                .Select(i => test[i].Target.Entity is { } entity && evaluation.Items[i].Text.Contains(SynthText.Knowledge(entity), StringComparison.Ordinal))
                .ToArray();

            var score = evaluation.Score;
            File.WriteAllText(Path.Combine(evalDir, "kvg-score.json"), PythonJson.Serialize(KvgEvalOutput.Summary(score), 2), new UTF8Encoding(false));
            var row = new VariantRow(variant, style == KvgPromptStyle.R1 ? "r1" : "None", score.Overall.AccuracyPercent, score.Seen?.AccuracyPercent ?? 0,
                score.Unseen?.AccuracyPercent ?? 0, score.PerCategory.ToDictionary(p => p.Key, p => p.Value.AccuracyPercent), score.ParseFailures,
                score.Overall.MeanIou, confusion.TargetEntity, confusion.OtherEntity, confusion.NoEntity,
                BoxDiversity.Of(evaluation.Items.Select(i => i.Prediction)),
                Count(i => evaluation.Items[i].Text.Contains(test[i].Target.Label, StringComparison.Ordinal)),
                Count(i => writesKnowledge[i]), Count(i => writesKnowledge[i] && evaluation.Items[i].Correct));
            log($"[eval {variant}] overall {row.Overall:F1}, seen {row.Seen:F1}, unseen {row.Unseen:F1}, parse failures {row.ParseFailures}; " +
                $"target {row.TargetEntity} / other entity {row.OtherEntity} / none {row.NoEntity}; writes the name: {row.NamesTarget}; " +
                $"its knowledge sentence: {row.WritesKnowledge} (box right: {row.KnowledgeAndRight.Seen} and {row.KnowledgeAndRight.Unseen}); e.g. {Truncate(evaluation.Items[0].Text)}");
            Lap("eval-" + variant, sw);
            return (row, score, confusion, evaluation.Items.Select(i => new KvgOutcome(i.QuestionId, i.Category, i.Correct)).ToList());
        }

        /// <summary>
        /// The base model on held-out shape images, the task it was trained on (raw prompt, native answer): can it
        /// localise at all before any KVG training? Scored like the test split, with the same object-level matching.
        /// </summary>
        private ShapeGroundingReport EvaluateShapes(string baseDir, AttributeGroundingGenerator shapes, int shapesSeen)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            var samples = Enumerable.Range(shapesSeen, o.TestSamples).Select(i => shapes.Generate(i)).ToList();
            using var kvg = LoadKvg(baseDir);
            var evaluation = KvgEvaluator.Evaluate(kvg, SynthExporter.ToKvgBenchItems(samples),
                new GroundOptions { Prompt = KvgPromptStyle.None, MaxNewTokens = o.MaxDirectTokens }, o.EvalBatchSize,
                split: new KvgCategorySplit([AttributeGroundingGenerator.Category], []), cancellationToken: ct);
            var score = evaluation.Score.Overall;
            var baselines = BoxBaselines.Compute(samples, o.RandomBoxTrials, o.Seed);
            var report = new ShapeGroundingReport(samples.Count, score.AccuracyPercent, score.MeanIou,
                evaluation.Items.Count(i => i.Match.Kind == KvgMatchKind.Target), evaluation.Items.Count(i => i.Match.Kind == KvgMatchKind.OtherEntity),
                evaluation.Items.Count(i => i.Match.Kind is not (KvgMatchKind.Target or KvgMatchKind.OtherEntity)), baselines.RandomObject,
                BoxDiversity.Of(evaluation.Items.Select(i => i.Prediction)));
            log($"[eval base on shapes] Acc@0.5 {report.Accuracy:F1} (random object {report.RandomObject:F1}), mean IoU {report.MeanIou:F3}; " +
                $"target {report.TargetObject} / other object {report.OtherObject} / none {report.NoObject}; {report.Boxes.DistinctBoxes} distinct boxes");
            Lap("eval-base-shapes", sw);
            return report;
        }

        private static string Truncate(string text) => text.Length <= 200 ? text.Replace('\n', ' ') : text[..200].Replace('\n', ' ') + "…";

        private static JsonObject ConfusionJson(EntityConfusion confusion)
        {
            var matrix = new JsonObject();
            foreach (var (target, row) in confusion.Matrix)
            {
                var r = new JsonObject();
                foreach (var (predicted, count) in row) r[predicted] = count;
                matrix[target] = r;
            }

            return new JsonObject
            {
                ["target_entity"] = confusion.TargetEntity, ["other_entity"] = confusion.OtherEntity, ["none"] = confusion.NoEntity, ["matrix"] = matrix,
            };
        }

        private string WriteResults(List<VariantRow> rows, JsonObject scores, JsonObject confusions, BaselineScores baselines, RlFilterReport filter, string iouReward,
            GrpoRewardReport grpoReward, IReadOnlyList<KvgComparison> comparisons, ShapeGroundingReport baseShapes)
        {
            var rowNodes = new JsonArray();
            foreach (var r in rows)
            {
                var perDomain = new JsonObject();
                foreach (var (domain, acc) in r.PerDomain) perDomain[domain] = Round(acc);
                rowNodes.Add(new JsonObject
                {
                    ["variant"] = r.Variant, ["prompt"] = r.Prompt, ["overall"] = Round(r.Overall), ["seen"] = Round(r.Seen), ["unseen"] = Round(r.Unseen),
                    ["per_domain"] = perDomain, ["parse_failures"] = r.ParseFailures, ["mean_iou"] = Round(r.MeanIou),
                    ["score"] = scores[r.Variant]!.DeepClone(), ["entity_confusion"] = confusions[r.Variant]!.DeepClone(),
                    ["box_diversity"] = r.Boxes.ToJson(),
                    ["names_target"] = r.NamesTarget.ToJson(),
                    ["writes_knowledge"] = r.WritesKnowledge.ToJson(),
                    ["knowledge_and_right"] = r.KnowledgeAndRight.ToJson(),
                });
            }

            var stages = new JsonObject();
            foreach (var s in _stages)
            {
                var first = s.Metrics.Take(Math.Max(1, s.Metrics.Count / 10)).ToList();
                var last = s.Metrics.TakeLast(Math.Max(1, s.Metrics.Count / 10)).ToList();
                var node = new JsonObject
                {
                    ["examples"] = s.Examples, ["steps"] = s.Metrics.Count, ["seconds"] = Round(s.Seconds),
                    ["loss_first"] = Finite(first.Average(m => m.Loss)), ["loss_last"] = Finite(last.Average(m => m.Loss)),
                };
                if (s.Metrics.Count > 0 && s.Metrics[0].Extra.ContainsKey("reward"))
                {
                    node["reward_first"] = first.Average(m => m.Extra["reward"]);
                    node["reward_last"] = last.Average(m => m.Extra["reward"]);
                }

                stages[s.Stage] = node;
            }

            var timings = new JsonObject();
            foreach (var (k, v) in _timings) timings[k] = Round(v);
            var significance = VariantComparisons.ToJson(comparisons);
            var root = new JsonObject
            {
                ["rows"] = rowNodes,
                ["base_shapes"] = new JsonObject
                {
                    ["items"] = baseShapes.Items, ["accuracy"] = Round(baseShapes.Accuracy), ["mean_iou"] = Math.Round(baseShapes.MeanIou, 4),
                    ["target_object"] = baseShapes.TargetObject, ["other_object"] = baseShapes.OtherObject, ["none"] = baseShapes.NoObject,
                    ["random_object"] = Round(baseShapes.RandomObject), ["box_diversity"] = baseShapes.Boxes.ToJson(),
                },
                ["comparisons"] = significance["comparisons"]!.DeepClone(),
                ["paper_goal"] = significance["paper_goal"]!.DeepClone(),
                ["baselines"] = new JsonObject
                {
                    ["uniform_random_box"] = Round(baselines.UniformRandomBox), ["centre_box"] = Round(baselines.CentreBox),
                    ["random_object"] = Round(baselines.RandomObject), ["largest_object"] = Round(baselines.LargestObject),
                    ["uniform_random_box_mean_iou"] = Math.Round(baselines.UniformRandomBoxMeanIou, 4),
                },
                ["grpo_iou_reward"] = iouReward,
                ["grpo"] = new JsonObject
                {
                    ["reward_before"] = Math.Round(grpoReward.RewardBefore, 4), ["reward_after"] = Math.Round(grpoReward.RewardAfter, 4),
                    ["iou_before"] = Math.Round(grpoReward.IouBefore, 4), ["iou_after"] = Math.Round(grpoReward.IouAfter, 4),
                    ["format_before"] = Math.Round(grpoReward.FormatBefore, 4), ["format_after"] = Math.Round(grpoReward.FormatAfter, 4),
                    ["prompts"] = grpoReward.Prompts, ["samples_per_prompt"] = grpoReward.SamplesPerPrompt, ["probe_seed"] = grpoReward.ProbeSeed,
                },
                ["rl_filter"] = new JsonObject
                {
                    ["candidates"] = filter.Candidates, ["generations"] = filter.Generations, ["kept"] = filter.Kept,
                    ["correct_histogram"] = new JsonArray(filter.CorrectHistogram.Select(c => (JsonNode?)c).ToArray()),
                },
                ["stages"] = stages,
                ["timings_s"] = timings,
                ["options"] = JsonNode.Parse(JsonSerializer.Serialize(o, new JsonSerializerOptions { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } })),
            };
            var path = Path.Combine(_dir, "results.json");
            File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), new UTF8Encoding(false));
            return path;
        }

        private static double Round(double v) => Math.Round(v, 2);

        private void PrintTable(List<VariantRow> rows, BaselineScores b, string iouReward, IReadOnlyList<KvgComparison> comparisons)
        {
            var sb = new StringBuilder();
            sb.AppendLine(CultureInfo.InvariantCulture, $"{"variant",-14} {"prompt",-6} {"overall",8} {"seen",8} {"unseen",8} {"mIoU",6} {"parse-fail",10} {"target/other/none",18} {"boxes",6} {"top box",8}");
            foreach (var r in rows)
            {
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"{r.Variant,-14} {r.Prompt,-6} {r.Overall,8:F1} {r.Seen,8:F1} {r.Unseen,8:F1} {r.MeanIou,6:F3} {r.ParseFailures,10} {$"{r.TargetEntity}/{r.OtherEntity}/{r.NoEntity}",18} {r.Boxes.DistinctBoxes,6} {r.Boxes.TopBoxShare,8:P0}");
            }

            sb.AppendLine(CultureInfo.InvariantCulture,
                $"baselines: uniform box {b.UniformRandomBox:F1} (mean IoU {b.UniformRandomBoxMeanIou:F3}), centre box {b.CentreBox:F1}, random object {b.RandomObject:F1}, largest object {b.LargestObject:F1}; GRPO IoU reward: {iouReward}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"timings (s): {string.Join(", ", _timings.Select(t => $"{t.Key} {t.Value:F0}"))}");
            sb.Append(VariantComparisons.Describe(comparisons));
            log(sb.ToString());
        }
    }
}
