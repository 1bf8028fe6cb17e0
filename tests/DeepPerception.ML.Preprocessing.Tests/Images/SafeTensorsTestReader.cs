using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

/// <summary>
/// Minimal reader of the safetensors format for tests: an 8-byte little-endian header length, a JSON header mapping
/// tensor names to dtype, shape and data offsets, then the raw little-endian data.
/// </summary>
internal sealed class SafeTensorsTestReader
{
    private readonly byte[] _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, (string Dtype, int[] Shape, long Begin, long End)> _tensors = new();

    public SafeTensorsTestReader(string path)
    {
        _file = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(_file.AsSpan(0, 8));
        if (headerLength > (ulong)(_file.Length - 8))
        {
            throw new InvalidDataException($"{path}: header length {headerLength} exceeds the file.");
        }

        _dataStart = 8 + (long)headerLength;
        using JsonDocument header = JsonDocument.Parse(Encoding.UTF8.GetString(_file, 8, (int)headerLength));
        foreach (JsonProperty property in header.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                continue;
            }

            JsonElement e = property.Value;
            int[] shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            JsonElement offsets = e.GetProperty("data_offsets");
            _tensors[property.Name] = (e.GetProperty("dtype").GetString()!, shape,
                offsets[0].GetInt64(), offsets[1].GetInt64());
        }
    }

    public int[] Shape(string name) => _tensors[name].Shape;

    public byte[] ReadU8(string name) => Raw(name, "U8", 1).ToArray();

    public float[] ReadF32(string name)
    {
        ReadOnlySpan<byte> raw = Raw(name, "F32", 4);
        var values = new float[raw.Length / 4];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
        }

        return values;
    }

    public long[] ReadI64(string name)
    {
        ReadOnlySpan<byte> raw = Raw(name, "I64", 8);
        var values = new long[raw.Length / 8];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * 8, 8));
        }

        return values;
    }

    private ReadOnlySpan<byte> Raw(string name, string dtype, int elementSize)
    {
        if (!_tensors.TryGetValue(name, out var t))
        {
            throw new KeyNotFoundException($"tensor {name} not in the file.");
        }

        if (t.Dtype != dtype)
        {
            throw new InvalidDataException($"tensor {name} is {t.Dtype}, not {dtype}.");
        }

        long count = t.Shape.Aggregate(1L, (a, b) => a * b);
        if (t.End - t.Begin != count * elementSize)
        {
            throw new InvalidDataException($"tensor {name}: offsets do not match its shape.");
        }

        return _file.AsSpan((int)(_dataStart + t.Begin), (int)(t.End - t.Begin));
    }
}
