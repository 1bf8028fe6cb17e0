using DeepPerception.Checkpoints;
using DeepPerception.ML.Qwen2VL;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Tests;

/// <summary>Several LoRA adapters served on one shared base, rows of one batch routed to different adapters.</summary>
public sealed class ServedAdapterTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("dp-served-").FullName;

    public ServedAdapterTests() => torch.set_num_threads(1);

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    /// <summary>Saves an adapter on every default target (decoder and vision) with random, non-zero B.</summary>
    private string MakeAdapter(string name, int seed, int rank = 4)
    {
        using var model = Golden.LoadModel();
        var options = new LoraOptions { Rank = rank, Alpha = 2 * rank, Dropout = 0 };
        LoraAdapters.Attach(model, options);
        torch.manual_seed(seed);
        using (no_grad())
        {
            foreach (var (n, p) in model.named_parameters().Where(x => x.name.Contains(".lora_B.", StringComparison.Ordinal)))
            {
                p.copy_(torch.randn(p.shape).mul(0.05));
            }
        }

        var dir = Path.Combine(_tmp, name);
        LoraAdapters.Save(model, dir, options, "qwen2vl-tiny");
        return dir;
    }

    private static Tensor Logits(Qwen2VLForConditionalGeneration model, PromptInput p)
    {
        using var _ = no_grad();
        model.eval();
        return model.Forward(new ModelInput { InputIds = torch.tensor(p.Ids, [1, p.Ids.Length]), PixelValues = p.PixelValues, ImageGrids = p.Grids })
            .Logits.clone();
    }

    [Fact]
    public void A_batch_routed_to_two_adapters_and_the_base_equals_each_model_alone()
    {
        var x = MakeAdapter("x", 1);
        var y = MakeAdapter("y", 2);
        using var scope = NewDisposeScope();
        using var image = new GoldenCase("image");
        using var text = new GoldenCase("text_only");
        var prompt = image.Prompt();
        var patches = prompt.Grids.Sum(g => g.T * g.H * g.W);

        // References: each adapter loaded the training way, alone.
        var expectedLogits = new Dictionary<string, Tensor>();
        var expectedIds = new Dictionary<string, long[]>();
        foreach (var (name, dir) in new[] { ("x", x), ("y", y) })
        {
            using var alone = Golden.LoadModel();
            LoraAdapters.Load(alone, dir);
            expectedLogits[name] = Logits(alone, prompt);
            expectedIds[name] = Generation.Generate(alone, new GenerationRequest
            {
                Prompts = [image.Prompt()], Options = new GenerationOptions { MaxNewTokens = 8 },
            }).Sequences[0].Tokens.Select(t => (long)t).ToArray();
        }

        using var shared = Golden.LoadModel();
        var baseLogits = Logits(shared, prompt);
        Assert.True(GoldenCase.MaxAbs(expectedLogits["x"], baseLogits) > 1e-3, "the adapter must change the output for the test to mean anything");
        Assert.True(ServedAdapters.Load(shared, "x", x) > 10);
        Assert.True(ServedAdapters.Load(shared, "y", y) > 10);
        Assert.True(GoldenCase.MaxAbs(Logits(shared, prompt), baseLogits) == 0, "without routing the shared base answers as the base");

        // One forward pass: rows x, y, base.
        using (ServedAdapters.Route(shared, ["x", "y", null], [patches, patches, patches]))
        {
            using var _ = no_grad();
            var ids = torch.tensor(prompt.Ids, [1, prompt.Ids.Length]).repeat(3, 1);
            var pixels = torch.cat([prompt.PixelValues!, prompt.PixelValues!, prompt.PixelValues!], 0);
            var logits = shared.Forward(new ModelInput { InputIds = ids, PixelValues = pixels, ImageGrids = [.. prompt.Grids, .. prompt.Grids, .. prompt.Grids] }).Logits;
            Assert.True(GoldenCase.MaxAbs(logits[0].unsqueeze(0), expectedLogits["x"]) < 1e-4, "row 0 answers as adapter x");
            Assert.True(GoldenCase.MaxAbs(logits[1].unsqueeze(0), expectedLogits["y"]) < 1e-4, "row 1 answers as adapter y");
            Assert.True(GoldenCase.MaxAbs(logits[2].unsqueeze(0), baseLogits) < 1e-4, "row 2 answers as the base");
        }

        // Batched generation with left padding: image (x), text (base), image (y), image (x).
        using (ServedAdapters.Route(shared, ["x", null, "y", "x"], [patches, 0, patches, patches]))
        {
            var result = Generation.Generate(shared, new GenerationRequest
            {
                Prompts = [image.Prompt(), text.Prompt(), image.Prompt(), image.Prompt()], Options = new GenerationOptions { MaxNewTokens = 8 },
            });
            Assert.Equal(expectedIds["x"], result.Sequences[0].Tokens.Select(t => (long)t));
            Assert.Equal(text.Longs("generated_ids"), result.Sequences[1].Tokens.Select(t => (long)t));
            Assert.Equal(expectedIds["y"], result.Sequences[2].Tokens.Select(t => (long)t));
            Assert.Equal(expectedIds["x"], result.Sequences[3].Tokens.Select(t => (long)t));
        }

        Assert.True(GoldenCase.MaxAbs(Logits(shared, prompt), baseLogits) == 0, "routes end with their scope");
        Assert.True(ServedAdapters.Unload(shared, "x"));
        Assert.False(ServedAdapters.Unload(shared, "x"));
        Assert.All(shared.Linears(), l => Assert.DoesNotContain("x", l.Layer.ServedAdapters));
    }

    [Fact]
    public void An_adapter_that_does_not_fit_is_refused_naming_the_layer_and_nothing_is_loaded()
    {
        var dir = MakeAdapter("bad", 3, rank: 2);
        List<SafetensorsTensor> tensors;
        using (var reader = SafetensorsReader.Open(Path.Combine(dir, LoraAdapters.WeightsFile)))
        {
            tensors = reader.Entries.Values.Select(e => e.Name == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
                ? new SafetensorsTensor(e.Name, SafetensorsDType.F32, [2, 7], new byte[2 * 7 * 4])
                : new SafetensorsTensor(e.Name, SafetensorsDType.F32, e.Shape, reader.ReadBytes(e.Name))).ToList();
        }

        Safetensors.Write(Path.Combine(dir, LoraAdapters.WeightsFile), tensors);

        using var model = Golden.LoadModel();
        var error = Assert.Throws<CheckpointFormatException>(() => ServedAdapters.Load(model, "bad", dir));
        Assert.Contains("model.layers.0.self_attn.q_proj", error.Message, StringComparison.Ordinal);
        Assert.All(model.Linears(), l => Assert.Empty(l.Layer.ServedAdapters));
    }
}
