using DeepPerception.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Tests;

/// <summary>Float tensors built from managed arrays by one span copy, and the native heap setting of device workers.</summary>
public sealed class HostTensorsTests
{
    public HostTensorsTests() => torch.set_num_threads(1);

    [Fact]
    public void FromFloats_holds_the_values_in_the_given_shape_and_does_not_share_the_array()
    {
        using var scope = NewDisposeScope();
        var values = Enumerable.Range(0, 24).Select(i => (i * 0.37f) - 3).ToArray();
        var t = HostTensors.FromFloats(values, [4, 6]);
        Assert.Equal(new long[] { 4, 6 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(values, t.data<float>().ToArray());
        Assert.Equal(torch.tensor(values, [4, 6]).data<float>().ToArray(), t.data<float>().ToArray());

        values[0] = 1000;
        Assert.NotEqual(1000f, t[0, 0].item<float>());
    }

    [Fact]
    public void FromFloats_refuses_a_shape_of_another_size()
    {
        var e = Assert.Throws<ArgumentException>(() => HostTensors.FromFloats(new float[10], [3, 4]));
        Assert.Contains("12 elements", e.Message, StringComparison.Ordinal);
        Assert.Contains("10", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConcatRows_equals_concatenating_the_parts()
    {
        using var scope = NewDisposeScope();
        var random = new Random(5);
        var parts = new[] { 3, 1, 5 }.Select(rows => Enumerable.Range(0, rows * 8).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
        var joined = HostTensors.ConcatRows(parts, 8);
        var expected = torch.cat(parts.Select(p => torch.tensor(p, [p.Length / 8, 8])).ToList(), 0);
        Assert.Equal(new long[] { 9, 8 }, joined.shape);
        Assert.Equal(expected.data<float>().ToArray(), joined.data<float>().ToArray());
    }

    [Fact]
    public void ConcatRows_refuses_a_part_that_is_not_whole_rows()
    {
        var e = Assert.Throws<ArgumentException>(() => HostTensors.ConcatRows([new float[16], new float[12]], 8));
        Assert.Contains("12 values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Device_workers_keep_freed_native_memory_on_glibc_linux()
    {
        using var worker = new DeviceWorker(CPU);
        var tuned = NativeHeap.KeepFreedMemory();
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("DEEPPERCEPTION_MALLOC_DEFAULTS") == "1")
        {
            Assert.False(tuned);
            return;
        }

        // Debian's glibc accepts both settings; applying again is a no-op that reports the same state.
        Assert.True(tuned);
        Assert.True(NativeHeap.IsTuned);
        Assert.Equal(tuned, NativeHeap.KeepFreedMemory());
    }
}
