using DeepPerception.ML.Qwen2VL;
using TorchSharp;

namespace DeepPerception.ML.Tests;

/// <summary>The two M-RoPE channel layouts: Qwen2-VL's contiguous sections and Qwen3-VL's interleaved axes.</summary>
public class MropeLayoutTests
{
    [Fact]
    public void Contiguous_sections_give_each_axis_one_run_of_pairs()
    {
        var config = Qwen2VLConfig.Preset("tiny");
        Assert.Equal([2, 3, 3], config.MropeSection);
        Assert.Equal([0, 0, 1, 1, 1, 2, 2, 2], config.MropeAxisOfPair());
    }

    [Fact]
    public void Interleaved_sections_cycle_the_axes_and_leave_the_tail_to_time()
    {
        // Qwen3-VL's own proportions at head_dim 128: height and width take every third pair up to 3 × 20.
        var large = Qwen2VLConfig.Preset("tiny") with
        {
            HiddenSize = 512, NumAttentionHeads = 4, MropeSection = [24, 20, 20], MropeInterleaved = true,
            Vision = Qwen2VLConfig.Preset("tiny").Vision with { HiddenSize = 512 },
        };
        var axis = large.Validate().MropeAxisOfPair();
        Assert.Equal(64, axis.Length);
        Assert.Equal(24, axis.Count(a => a == 0));
        Assert.Equal(20, axis.Count(a => a == 1));
        Assert.Equal(20, axis.Count(a => a == 2));
        Assert.Equal([0, 1, 2, 0, 1, 2], axis[..6]);
        Assert.Equal([1, 2, 0, 0, 0], axis[58..63]); // pairs 58 and 59 are the last of height and width

        var small = Qwen2VLConfig.Preset("tiny") with { MropeSection = [4, 2, 2], MropeInterleaved = true };
        Assert.Equal([0, 1, 2, 0, 1, 2, 0, 0], small.Validate().MropeAxisOfPair());
    }

    [Fact]
    public void Interleaved_sections_that_overrun_the_head_are_refused()
    {
        var bad = Qwen2VLConfig.Preset("tiny") with { MropeSection = [2, 3, 3], MropeInterleaved = true };
        var error = Assert.Throws<ArgumentException>(() => bad.Validate());
        Assert.Contains("interleaved mrope_section [2,3,3]", error.Message);
    }

    [Fact]
    public void The_interleaved_flag_survives_config_json_and_is_absent_when_off()
    {
        var plain = Qwen2VLConfig.Preset("tiny");
        Assert.Null(plain.ToJson()["rope_scaling"]!["mrope_interleaved"]);
        Assert.False(Qwen2VLConfig.FromJson(plain.ToJson()).MropeInterleaved);

        var interleaved = plain with { MropeSection = [4, 2, 2], MropeInterleaved = true };
        var json = interleaved.ToJson();
        Assert.True(json["rope_scaling"]!["mrope_interleaved"]!.GetValue<bool>());
        var back = Qwen2VLConfig.FromJson(json);
        Assert.True(back.MropeInterleaved);
        Assert.Equal([4, 2, 2], back.MropeSection);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_rotary_channel_turns_with_the_position_of_its_axis(bool interleaved)
    {
        torch.set_num_threads(1);
        var config = Qwen2VLConfig.Preset("tiny") with
        {
            RopeTheta = 100, MropeSection = interleaved ? [4, 2, 2] : [2, 3, 3], MropeInterleaved = interleaved,
        };
        using var model = new Qwen2VLTextModel(config.Validate());
        long[,] positions = { { 3, 5, 5, 9 }, { 3, 1, 2, 9 }, { 3, 4, 0, 9 } }; // [axis, token]: two image tokens between text
        using var ids = torch.tensor(positions).view(3, 1, 4);
        var (cos, sin) = model.RopeCosSin(ids, torch.ScalarType.Float32);
        using var c = cos;
        using var s = sin;
        Assert.Equal(new long[] { 1, 1, 4, config.HeadDim }, c.shape);

        var half = config.HeadDim / 2;
        var axis = config.MropeAxisOfPair();
        for (var token = 0; token < 4; token++)
        {
            for (var d = 0; d < config.HeadDim; d++)
            {
                var pair = d % half;
                var angle = positions[axis[pair], token] * Math.Pow(config.RopeTheta, -2.0 * pair / config.HeadDim);
                Assert.Equal(Math.Cos(angle), c[0, 0, token, d].item<float>(), 1e-5);
                Assert.Equal(Math.Sin(angle), s[0, 0, token, d].item<float>(), 1e-5);
            }
        }
    }
}
