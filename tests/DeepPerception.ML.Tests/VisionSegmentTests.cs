using DeepPerception.ML.Qwen2VL;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Tests;

/// <summary>Attention in the vision tower stays inside each image and each frame.</summary>
public sealed class VisionSegmentTests
{
    [Fact]
    public void Several_images_give_the_same_features_as_each_image_alone()
    {
        torch.set_num_threads(1);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var model = new Qwen2VLForConditionalGeneration(Qwen2VLConfig.Preset("tiny"));
        model.InitializeWeights(7, std: 0.2);
        var size = model.Config.Vision.PatchInputSize;
        var first = new ImageGrid(1, 4, 6);
        var second = new ImageGrid(2, 4, 4);
        var gen = new Generator(11);
        var p1 = torch.randn([first.Rows, size], generator: gen);
        var p2 = torch.randn([second.Rows, size], generator: gen);

        var together = model.Visual.Forward(torch.cat([p1, p2], 0), [first, second]);
        var alone1 = model.Visual.Forward(p1, [first]);
        var frame1 = model.Visual.Forward(p2.narrow(0, 0, 16), [new ImageGrid(1, 4, 4)]);
        var frame2 = model.Visual.Forward(p2.narrow(0, 16, 16), [new ImageGrid(1, 4, 4)]);
        var expected = torch.cat([alone1, frame1, frame2], 0);

        Assert.Equal(expected.shape, together.shape);
        var diff = together.sub(expected).abs().max().item<float>();
        Assert.True(diff < 1e-5f, $"max |diff| {diff}");
        // The features depend on the image: a different second image changes only its own rows.
        var other = model.Visual.Forward(torch.cat([p1, p2.neg()], 0), [first, second]);
        Assert.True(other.narrow(0, 0, first.Tokens(2)).sub(alone1).abs().max().item<float>() < 1e-5f);
        Assert.True(other.narrow(0, first.Tokens(2), second.Tokens(2)).sub(together.narrow(0, first.Tokens(2), second.Tokens(2))).abs().max().item<float>() > 1e-3f);
    }
}
