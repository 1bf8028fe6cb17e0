using DeepPerception.Checkpoints;
using DeepPerception.ML.Qwen2VL;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Tests;

/// <summary>
/// The engine against tensors computed by Hugging Face transformers' own Qwen2-VL code on the golden tiny model:
/// every intermediate listed in the fixture README, logits, KV cache, one decode step and greedy generation.
/// </summary>
public sealed class GoldenParityTests
{
    [Fact]
    public void Parameter_names_and_shapes_match_the_hf_checkpoint()
    {
        torch.set_num_threads(1);
        using var model = new Qwen2VLForConditionalGeneration(Qwen2VLConfig.FromFile(Path.Combine(Golden.ModelDir, "config.json")));
        var ours = model.named_parameters().ToDictionary(p => p.name, p => "[" + string.Join(", ", p.parameter.shape) + "]");
        var hf = File.ReadAllLines(Path.Combine(Golden.ModelDir, "param_shapes.txt"))
            .Where(l => l.Length > 0).Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(hf.Keys.Order(), ours.Keys.Order());
        foreach (var (name, shape) in hf)
        {
            Assert.True(shape == ours[name], $"{name}: HF {shape}, ours {ours[name]}");
        }
    }

    [Theory]
    [InlineData("text_only")]
    [InlineData("image")]
    public void Prefill_intermediates_and_logits_match(string caseName)
    {
        using var model = Golden.LoadModel();
        using var scope = NewDisposeScope();
        using var gc = new GoldenCase(caseName);
        using var _ = no_grad();
        var inputIds = gc.Long("input_ids");
        var prompt = gc.Prompt();
        var pixels = prompt.PixelValues;
        var grids = prompt.Grids;

        // M-RoPE ids and deltas
        var (positions, deltas) = model.PositionIds(inputIds, null, grids);
        Assert.Equal(gc.Longs("position_ids"), positions.data<long>().ToArray());
        Assert.Equal(gc.Longs("rope_deltas")[0], deltas[0]);

        // rotary tables per axis and after mrope section selection
        var (cos3, sin3) = model.TextModel.RopePerAxis(positions);
        GoldenCase.Close(gc.Float("text_rope_cos"), cos3, 1e-5, "text_rope_cos");
        GoldenCase.Close(gc.Float("text_rope_sin"), sin3, 1e-5, "text_rope_sin");
        var (cos, sin) = model.TextModel.RopeCosSin(positions, ScalarType.Float32);
        GoldenCase.Close(gc.Float("text_rope_cos_mrope_selected"), cos.squeeze(1), 1e-5, "cos selected");
        GoldenCase.Close(gc.Float("text_rope_sin_mrope_selected"), sin.squeeze(1), 1e-5, "sin selected");

        if (pixels is not null)
        {
            GoldenCase.Close(gc.Float("vision_rotary_inv_freq"), model.Visual.InvFreq(), 1e-7, "vision inv_freq");
            GoldenCase.Close(gc.Float("vision_rotary_pos_emb"), model.Visual.RotaryAngles(grids, CPU), 1e-5, "vision rotary angles");
            var (patch, blocks, mergerLn, output) = model.Visual.ForwardWithStages(pixels, grids);
            GoldenCase.Close(gc.Float("vision_patch_embed"), patch, 1e-4, "patch embed");
            GoldenCase.Close(gc.Float("vision_block0_out"), blocks[0], 1e-4, "block 0");
            GoldenCase.Close(gc.Float("vision_block1_out"), blocks[1], 1e-4, "block 1");
            GoldenCase.Close(gc.Float("vision_merger_ln_q_out"), mergerLn, 1e-4, "merger ln_q");
            GoldenCase.Close(gc.Float("image_embeds"), output, 1e-4, "image embeds");
        }

        var embeds = model.InputsEmbeds(inputIds, pixels, grids);
        GoldenCase.Close(gc.Float("inputs_embeds"), embeds, 1e-4, "inputs_embeds");

        Tensor? layer0 = null;
        var hidden = model.TextModel.Forward(embeds, positions, null, null, h => layer0 = h.clone().DetachFromDisposeScope());
        GoldenCase.Close(gc.Float("hidden_after_layer0"), layer0!, 1e-4, "hidden after layer 0");
        GoldenCase.Close(gc.Float("final_hidden_states"), hidden, 1e-4, "final hidden states");
        GoldenCase.Close(gc.Float("final_hidden_first_row"), hidden[0, 0], 1e-4, "first row");
        GoldenCase.Close(gc.Float("final_hidden_last_row"), hidden[0, -1], 1e-4, "last row");

        var logits = model.Forward(new ModelInput { InputIds = inputIds, PixelValues = pixels, ImageGrids = grids }).Logits;
        GoldenCase.Close(gc.Float("logits"), logits, 1e-4, "logits");
        GoldenCase.Close(gc.Float("logits_fp64"), logits, 1e-4, "logits vs fp64");
    }

    [Theory]
    [InlineData("text_only")]
    [InlineData("image")]
    public void Kv_cache_decode_step_and_greedy_generation_match(string caseName)
    {
        using var model = Golden.LoadModel();
        using var scope = NewDisposeScope();
        using var gc = new GoldenCase(caseName);
        using var _ = no_grad();
        var inputIds = gc.Long("input_ids");
        var prompt = gc.Prompt();
        var pixels = prompt.PixelValues;
        var grids = prompt.Grids;

        var l = inputIds.shape[1];
        using var cache = new KvCache(model.Config, 1, l + 8, CPU, ScalarType.Float32);
        var prefill = model.Forward(new ModelInput { InputIds = inputIds, PixelValues = pixels, ImageGrids = grids, Cache = cache });
        GoldenCase.Close(gc.Float("logits"), prefill.Logits, 1e-4, "prefill logits");
        GoldenCase.Close(gc.Float("prefill_layer0_key_cache"), cache.Keys(0), 1e-4, "layer-0 key cache");
        GoldenCase.Close(gc.Float("prefill_layer0_value_cache"), cache.Values(0), 1e-4, "layer-0 value cache");

        var next = gc.Long("decode_step_input_ids");
        Assert.Equal(next.item<long>(), prefill.Logits[0, -1].argmax().item<long>());
        var pos = Qwen2VLForConditionalGeneration.DecodePositions(cache.Length, 1, prefill.RopeDeltas, CPU);
        Assert.Equal(gc.Longs("decode_step_position_ids"), pos.data<long>().ToArray());
        var step = model.Forward(new ModelInput { InputIds = next, PositionIds = pos, Cache = cache });
        GoldenCase.Close(gc.Float("decode_step_logits"), step.Logits, 1e-4, "decode step logits");

        var generated = gc.Longs("generated_ids");
        var result = Generation.Generate(model, new GenerationRequest
        {
            Prompts = [prompt],
            Options = new GenerationOptions { MaxNewTokens = generated.Length, StopTokenIds = [] },
        });
        Assert.Equal(generated, result.Sequences[0].Tokens.Select(t => (long)t).ToArray());
        var stepLogits = gc.Float("generate_step_logits");
        for (var i = 0; i < generated.Length; i++)
        {
            var expected = stepLogits[i].log_softmax(0)[generated[i]].item<float>();
            Assert.True(Math.Abs(expected - result.Sequences[0].LogProbs[i]) < 1e-4, $"log-prob of step {i}");
        }
    }
}
