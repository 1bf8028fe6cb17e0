using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Runtime;

/// <summary>
/// Float tensors made from managed arrays without TorchSharp's managed clone. <c>torch.tensor(float[], shape)</c> clones
/// the array on the managed heap and pins the clone for the tensor's life; for image inputs (megabytes per image) that is
/// a fresh large-object allocation per request, whose first touch page-faults. Here the tensor's own storage is filled
/// with one span copy (on the CPU; other devices get a host tensor moved over).
/// </summary>
public static class HostTensors
{
    /// <summary>A float32 tensor of <paramref name="shape"/> holding <paramref name="values"/> (copied) on <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the array's length.</exception>
    public static Tensor FromFloats(float[] values, ReadOnlySpan<long> shape, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        long count = 1;
        foreach (var size in shape)
        {
            count *= size;
        }

        if (count != values.LongLength)
        {
            throw new ArgumentException($"The shape holds {count} elements but the array has {values.LongLength}.", nameof(shape));
        }

        var host = torch.empty(shape, ScalarType.Float32, CPU);
        values.AsSpan().CopyTo(MemoryMarshal.Cast<byte, float>(host.bytes));
        return OnDevice(host, device);
    }

    /// <summary>
    /// One float32 tensor [Σ rows, <paramref name="rowLength"/>] holding <paramref name="parts"/> one after another (each a
    /// whole number of rows), on <paramref name="device"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A part is not a whole number of rows.</exception>
    public static Tensor ConcatRows(IReadOnlyList<float[]> parts, long rowLength, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowLength);
        long total = 0;
        foreach (var part in parts)
        {
            if (part.LongLength % rowLength != 0)
            {
                throw new ArgumentException($"A part of {part.LongLength} values is not a whole number of {rowLength}-value rows.", nameof(parts));
            }

            total += part.LongLength;
        }

        var host = torch.empty([total / rowLength, rowLength], ScalarType.Float32, CPU);
        var target = MemoryMarshal.Cast<byte, float>(host.bytes);
        var offset = 0;
        foreach (var part in parts)
        {
            part.AsSpan().CopyTo(target[offset..]);
            offset += part.Length;
        }

        return OnDevice(host, device);
    }

    /// <summary><paramref name="host"/> itself on the CPU, else a copy on <paramref name="device"/> (the host tensor is released).</summary>
    private static Tensor OnDevice(Tensor host, Device? device)
    {
        if (device is null || device.type == DeviceType.CPU)
        {
            return host;
        }

        using (host)
        {
            return host.to(device);
        }
    }
}
