using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepPerception.ML.Tests;

/// <summary>The small-batch linear kernel of batched decode steps, against a double-precision reference and F.linear.</summary>
public sealed class SmallBatchLinearTests
{
    public SmallBatchLinearTests() => torch.set_num_threads(1);

    [Theory]
    [InlineData(1, 13, 16, false)]
    [InlineData(2, 8, 48, true)]
    [InlineData(3, 17, 64, true)]
    [InlineData(4, 4, 32, false)]
    [InlineData(7, 30, 128, true)]
    [InlineData(8, 1, 16, true)]
    [InlineData(16, 37, 80, false)]
    public void Kernel_matches_a_double_precision_reference(int rows, int n, int k, bool withBias)
    {
        if (!SmallBatchLinear.IsSupported)
        {
            Assert.Throws<PlatformNotSupportedException>(() => SmallBatchLinear.Compute(new float[rows * k], rows, new float[n * k], n, k, default, new float[rows * n]));
            return;
        }

        var random = new Random(rows * 1000 + n * 10 + k);
        var x = Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var bias = withBias ? Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray() : [];
        var y = Enumerable.Repeat(float.NaN, rows * n).ToArray();

        SmallBatchLinear.Compute(x, rows, w, n, k, bias, y);

        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < n; o++)
            {
                double expected = withBias ? bias[o] : 0;
                for (var p = 0; p < k; p++)
                {
                    expected += (double)x[(r * k) + p] * w[(o * k) + p];
                }

                Assert.True(Math.Abs(expected - y[(r * n) + o]) <= 1e-5 * Math.Sqrt(k), $"y[{r},{o}] = {y[(r * n) + o]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void Columns_split_between_threads_give_the_single_thread_result_exactly()
    {
        if (!SmallBatchLinear.IsSupported)
        {
            return;
        }

        const int rows = 5, n = 1030, k = 32;
        var random = new Random(5);
        var x = Enumerable.Range(0, rows * k).Select(_ => (float)random.NextDouble()).ToArray();
        var w = Enumerable.Range(0, n * k).Select(_ => (float)random.NextDouble()).ToArray();
        var bias = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        var single = new float[rows * n];
        var split = Enumerable.Repeat(float.NaN, rows * n).ToArray();
        SmallBatchLinear.Compute(x, rows, w, n, k, bias, single, threads: 1);
        SmallBatchLinear.Compute(x, rows, w, n, k, bias, split, threads: 3);
        Assert.Equal(single, split);
    }

    [Fact]
    public void Kernel_rejects_shapes_it_cannot_take()
    {
        if (!SmallBatchLinear.IsSupported)
        {
            return;
        }

        Assert.Throws<ArgumentException>(() => SmallBatchLinear.Compute(new float[17 * 16], 17, new float[16], 1, 16, default, new float[17]));
        Assert.Throws<ArgumentException>(() => SmallBatchLinear.Compute(new float[2 * 20], 2, new float[20], 1, 20, default, new float[2]));
        Assert.Throws<ArgumentException>(() => SmallBatchLinear.Compute(new float[2 * 16], 2, new float[16], 2, 16, default, new float[4]));
    }

    [Fact]
    public void TryForward_matches_F_linear_for_inference_and_declines_everything_else()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        var weight = torch.randn(1040, 64);
        var bias = torch.randn(1040);
        var input = torch.randn(2, 3, 64);
        using (no_grad())
        {
            var kernel = SmallBatchLinear.TryForward(input, weight, bias);
            if (!SmallBatchLinear.IsSupported)
            {
                Assert.Null(kernel);
                return;
            }

            Assert.NotNull(kernel);
            Assert.Equal(new long[] { 2, 3, 1040 }, kernel.shape);
            var reference = F.linear(input, weight, bias);
            Assert.True(kernel.sub(reference).abs().max().item<float>() < 1e-5f);

            // One row (a matrix-vector product), too many rows, a width that is not a multiple of 16, another dtype.
            Assert.Null(SmallBatchLinear.TryForward(torch.randn(1, 64), weight, bias));
            Assert.Null(SmallBatchLinear.TryForward(torch.randn(SmallBatchLinear.MaxRows + 1, 64), weight, bias));
            Assert.Null(SmallBatchLinear.TryForward(torch.randn(4, 24), torch.randn(8, 24), null));
            Assert.Null(SmallBatchLinear.TryForward(torch.randn(4, 64, dtype: ScalarType.Float64), weight.to(ScalarType.Float64), null));
            Assert.Null(SmallBatchLinear.TryForward(torch.randn(4, 64), torch.randn(40, 64), null)); // below MinWeightElements
        }

        // With gradients on and a weight that needs them, autograd must see the operation: the kernel declines.
        var trainable = torch.randn(1040, 64).requires_grad_(true);
        Assert.Null(SmallBatchLinear.TryForward(input, trainable, null));
    }

    [Fact]
    public void Batched_greedy_decode_gives_the_same_tokens_with_and_without_the_kernel()
    {
        using var model = Golden.LoadModel();
        using var text = new GoldenCase("text_only");
        using var image = new GoldenCase("image");
        GenerationResult Run()
        {
            using var scope = NewDisposeScope();
            return Generation.Generate(model, new GenerationRequest
            {
                Prompts = [image.Prompt(), text.Prompt(), image.Prompt(), text.Prompt()],
                Options = new GenerationOptions { MaxNewTokens = 12 },
            });
        }

        // The golden model's layers are far below the size threshold: lower it so that every layer takes the kernel.
        var threshold = SmallBatchLinear.MinWeightElements;
        GenerationResult withKernel, withoutKernel;
        try
        {
            SmallBatchLinear.MinWeightElements = 0;
            withKernel = Run();
            SmallBatchLinear.Enabled = false;
            withoutKernel = Run();
        }
        finally
        {
            SmallBatchLinear.Enabled = true;
            SmallBatchLinear.MinWeightElements = threshold;
        }

        for (var r = 0; r < 4; r++)
        {
            Assert.Equal(withoutKernel.Sequences[r].Tokens, withKernel.Sequences[r].Tokens);
            var lp = withKernel.Sequences[r].LogProbs.Zip(withoutKernel.Sequences[r].LogProbs, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(lp < 1e-4, $"row {r}: log-probabilities differ by {lp}");
        }

        var golden = image.Longs("generated_ids");
        Assert.Equal(golden, withKernel.Sequences[0].Tokens.Select(t => (long)t).Take(golden.Length));
    }
}
