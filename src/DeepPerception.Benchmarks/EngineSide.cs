using System.Diagnostics;
using DeepPerception.Checkpoints;
using DeepPerception.ML.Qwen2VL;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepPerception.Benchmarks;

/// <summary>The benchmark prompt: token ids with one image block, its pixel rows and grid.</summary>
public sealed record BenchmarkPrompt(long[] Ids, float[] Pixels, ImageGrid Grid, int PatchInputSize)
{
    /// <summary>
    /// Builds <paramref name="textTokens"/> random text tokens around <c>&lt;|vision_start|&gt;</c>, the image's
    /// <c>&lt;|image_pad|&gt;</c> tokens and <c>&lt;|vision_end|&gt;</c>, and random normal pixel rows, from a seed.
    /// </summary>
    public static BenchmarkPrompt Create(Qwen2VLConfig config, ImageGrid grid, int textTokens, int seed)
    {
        var random = new Random(seed);
        var textLimit = Math.Min(config.VocabSize, config.BosTokenId);
        long Text() => random.Next(0, textLimit);
        var before = textTokens / 2;
        var ids = new List<long>();
        for (var i = 0; i < before; i++) ids.Add(Text());
        ids.Add(config.VisionStartTokenId);
        ids.AddRange(Enumerable.Repeat((long)config.ImageTokenId, grid.Tokens(config.Vision.SpatialMergeSize)));
        ids.Add(config.VisionEndTokenId);
        for (var i = before; i < textTokens; i++) ids.Add(Text());

        var size = config.Vision.PatchInputSize;
        var pixels = new float[grid.Rows * size];
        for (var i = 0; i < pixels.Length; i += 2)
        {
            // Box–Muller: two standard normals per pair of uniforms.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var radius = Math.Sqrt(-2.0 * Math.Log(u1));
            pixels[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < pixels.Length) pixels[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
        }

        return new BenchmarkPrompt(ids.ToArray(), pixels, grid, size);
    }

    /// <summary>Prompt length in tokens.</summary>
    public int Length => Ids.Length;

    /// <summary>Writes <c>inputs.json</c> (ids, grid) and <c>inputs.safetensors</c> (pixel_values) for the reference.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["ids"] = new System.Text.Json.Nodes.JsonArray(Ids.Select(x => (System.Text.Json.Nodes.JsonNode)x).ToArray()),
            ["grid"] = new System.Text.Json.Nodes.JsonArray(Grid.T, Grid.H, Grid.W),
        };
        File.WriteAllText(Path.Combine(directory, "inputs.json"), json.ToJsonString());
        Safetensors.Write(Path.Combine(directory, "inputs.safetensors"),
            [new SafetensorsTensor("pixel_values", SafetensorsDType.F32, [Grid.Rows, PatchInputSize], Safetensors.FromFloat32(Pixels, SafetensorsDType.F32))]);
    }
}

/// <summary>The measured operations on the C# engine (the same ones the reference script implements).</summary>
public sealed class EngineSide : IDisposable
{
    private readonly Qwen2VLForConditionalGeneration _model;
    private readonly BenchmarkPrompt _prompt;
    private readonly Tensor _pixels;
    private optim.Optimizer? _optimizer;
    private int _trainBatch;

    /// <summary>Wraps a model and the prompt.</summary>
    public EngineSide(Qwen2VLForConditionalGeneration model, BenchmarkPrompt prompt)
    {
        _model = model;
        _prompt = prompt;
        _pixels = torch.tensor(prompt.Pixels, [prompt.Grid.Rows, prompt.PatchInputSize]).DetachFromDisposeScope();
    }

    /// <summary>
    /// Prefill plus greedy KV-cache decoding of <paramref name="newTokens"/> tokens through <see cref="Generation.Generate"/>;
    /// returns the engine's prefill and decode times and the first row's tokens.
    /// </summary>
    public (double Prefill, double Decode, int[] Tokens) Generate(int batch, int newTokens)
    {
        _model.eval();
        var prompts = Enumerable.Range(0, batch).Select(_ => new PromptInput(_prompt.Ids, _pixels, [_prompt.Grid])).ToList();
        var result = Generation.Generate(_model, new GenerationRequest
        {
            Prompts = prompts,
            Options = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0 },
        });
        return (result.PrefillTime.TotalSeconds, result.DecodeTime.TotalSeconds, result.Sequences[0].Tokens);
    }

    /// <summary>Greedy decoding without a cache: every step runs the whole model on the whole prefix (image included).</summary>
    public (double Seconds, int[] Tokens) Recompute(int newTokens)
    {
        _model.eval();
        using var noGrad = no_grad();
        var seq = _prompt.Ids.ToList();
        var produced = new List<int>();
        var sw = Stopwatch.StartNew();
        for (var step = 0; step < newTokens; step++)
        {
            using var scope = NewDisposeScope();
            var output = _model.Forward(new ModelInput
            {
                InputIds = torch.tensor(seq.ToArray(), [1, seq.Count]), PixelValues = _pixels, ImageGrids = [_prompt.Grid], LogitsToKeep = 1,
            });
            var logits = output.Logits.select(1, 0);
            var logp = logits.log_softmax(-1);
            var next = logits.argmax(-1);
            var picked = logp.gather(-1, next.unsqueeze(-1)).squeeze(-1);
            var id = next.cpu().data<long>()[0];
            _ = picked.cpu().data<float>().ToArray();
            seq.Add(id);
            produced.Add((int)id);
        }

        return (sw.Elapsed.TotalSeconds, produced.ToArray());
    }

    /// <summary>Creates the AdamW optimizer (lr 1e-4, weight decay 0.01) for a training batch of <paramref name="batch"/>.</summary>
    public void TrainSetup(int batch)
    {
        _optimizer?.Dispose();
        _optimizer = torch.optim.AdamW(_model.parameters(), lr: 1e-4, weight_decay: 0.01);
        _trainBatch = batch;
    }

    /// <summary>One step: zero_grad, forward, cross-entropy on the text tokens (next-token), backward, AdamW step.</summary>
    public (double Seconds, double Loss) TrainStep()
    {
        if (_optimizer is null)
        {
            throw new InvalidOperationException("Call TrainSetup before TrainStep.");
        }

        _model.train();
        using var scope = NewDisposeScope();
        var b = _trainBatch;
        var l = _prompt.Length;
        var ids = torch.tensor(_prompt.Ids, [1, l]).expand(b, l).contiguous();
        var labels = ids.masked_fill(ids.eq(_model.Config.ImageTokenId), -100);
        var pixels = _pixels.repeat(b, 1);
        var grids = Enumerable.Repeat(_prompt.Grid, b).ToList();
        var sw = Stopwatch.StartNew();
        _optimizer.zero_grad();
        var logits = _model.Forward(new ModelInput { InputIds = ids, PixelValues = pixels, ImageGrids = grids }).Logits;
        var v = logits.shape[^1];
        var loss = F.cross_entropy(logits.narrow(1, 0, l - 1).reshape(-1, v), labels.narrow(1, 1, l - 1).reshape(-1), ignore_index: -100);
        loss.backward();
        _optimizer.step();
        var seconds = sw.Elapsed.TotalSeconds;
        var value = loss.item<float>();
        _model.eval();
        return (seconds, value);
    }

    /// <summary>Full logits [1, L, V] of the batch-1 prompt (no cache), for the numeric comparison.</summary>
    public float[] Logits(out long[] shape)
    {
        _model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var output = _model.Forward(new ModelInput
        {
            InputIds = torch.tensor(_prompt.Ids, [1, _prompt.Length]), PixelValues = _pixels, ImageGrids = [_prompt.Grid],
        });
        shape = output.Logits.shape;
        return output.Logits.contiguous().data<float>().ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer?.Dispose();
        _pixels.Dispose();
    }
}
