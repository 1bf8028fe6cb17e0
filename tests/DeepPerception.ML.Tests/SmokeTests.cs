using TorchSharp;

namespace DeepPerception.ML.Tests;

public class SmokeTests
{
    [Fact]
    public void Torch_loads_and_multiplies()
    {
        torch.set_num_threads(1);
        using var a = torch.ones(2, 2);
        using var b = a.matmul(a);
        Assert.Equal(2f, b[0, 0].item<float>());
    }
}
