using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DeepPerception.Checkpoints;

/// <summary>Element types that can appear in a safetensors file.</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE float32.</summary>
    F32,
    /// <summary>IEEE float16.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>IEEE float64.</summary>
    F64,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Boolean stored as one byte.</summary>
    BOOL,
}

/// <summary>Raised when a checkpoint file is malformed or does not fit the model that reads it.</summary>
public sealed class CheckpointFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One tensor's header entry.</summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Bytes per element.</summary>
    public int ElementSize => Safetensors.SizeOf(DType);
}

/// <summary>
/// Reader for the safetensors format (8-byte little-endian header length, JSON header, raw little-endian data).
/// Every structural problem (truncation, bad offsets, oversized header, unknown dtype) is a <see cref="CheckpointFormatException"/>
/// naming the file and the entry.
/// </summary>
public sealed class SafetensorsReader : IDisposable
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;
    private readonly FileStream _stream;
    private readonly long _dataStart;

    private SafetensorsReader(string path, FileStream stream, long dataStart, IReadOnlyDictionary<string, SafetensorsEntry> entries,
        IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _stream = stream;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file path.</summary>
    public string Path { get; }

    /// <summary>Entries by tensor name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map (string to string).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates a safetensors file.</summary>
    public static SafetensorsReader Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new CheckpointFormatException($"Checkpoint file not found: {path}");
        }

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            Span<byte> lenBytes = stackalloc byte[8];
            if (stream.Length < 8 || stream.Read(lenBytes) != 8)
            {
                throw new CheckpointFormatException($"{path}: file is shorter than the 8-byte safetensors header length.");
            }

            var headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
            if (headerLen > (ulong)MaxHeaderBytes || (long)headerLen > stream.Length - 8)
            {
                throw new CheckpointFormatException($"{path}: header length {headerLen} is larger than the file or the {MaxHeaderBytes}-byte limit (truncated or not a safetensors file).");
            }

            var header = new byte[headerLen];
            stream.ReadExactly(header);
            JsonObject root;
            try
            {
                root = JsonNode.Parse(header)?.AsObject() ?? throw new CheckpointFormatException($"{path}: header is not a JSON object.");
            }
            catch (JsonException e)
            {
                throw new CheckpointFormatException($"{path}: header is not valid JSON ({e.Message}).", e);
            }

            var dataStart = 8 + (long)headerLen;
            var dataLength = stream.Length - dataStart;
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, node) in root)
            {
                if (name == "__metadata__")
                {
                    if (node is JsonObject meta)
                    {
                        foreach (var (k, v) in meta)
                        {
                            metadata[k] = v?.GetValue<string>() ?? string.Empty;
                        }
                    }

                    continue;
                }

                entries[name] = ParseEntry(path, name, node, dataLength);
            }

            return new SafetensorsReader(path, stream, dataStart, entries, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonNode? node, long dataLength)
    {
        if (node is not JsonObject obj)
        {
            throw new CheckpointFormatException($"{path}: entry '{name}' is not an object.");
        }

        var dtypeText = obj["dtype"]?.GetValue<string>() ?? throw new CheckpointFormatException($"{path}: entry '{name}' has no dtype.");
        if (!Enum.TryParse<SafetensorsDType>(dtypeText, ignoreCase: false, out var dtype))
        {
            throw new CheckpointFormatException($"{path}: entry '{name}' has unsupported dtype '{dtypeText}'.");
        }

        var shape = (obj["shape"] as JsonArray ?? throw new CheckpointFormatException($"{path}: entry '{name}' has no shape."))
            .Select(x => x!.GetValue<long>()).ToArray();
        if (shape.Any(d => d < 0))
        {
            throw new CheckpointFormatException($"{path}: entry '{name}' has a negative dimension.");
        }

        var offsets = obj["data_offsets"] as JsonArray;
        if (offsets is null || offsets.Count != 2)
        {
            throw new CheckpointFormatException($"{path}: entry '{name}' has no data_offsets pair.");
        }

        var begin = offsets[0]!.GetValue<long>();
        var end = offsets[1]!.GetValue<long>();
        var entry = new SafetensorsEntry(name, dtype, shape, begin, end);
        if (begin < 0 || end < begin || end > dataLength)
        {
            throw new CheckpointFormatException($"{path}: entry '{name}' data [{begin}, {end}) lies outside the {dataLength}-byte data section (truncated file?).");
        }

        if (end - begin != entry.ElementCount * entry.ElementSize)
        {
            throw new CheckpointFormatException($"{path}: entry '{name}' has {end - begin} bytes but shape [{string.Join(',', shape)}] of {dtype} needs {entry.ElementCount * entry.ElementSize}.");
        }

        return entry;
    }

    /// <summary>Reads the raw bytes of one tensor.</summary>
    public byte[] ReadBytes(string name)
    {
        if (!Entries.TryGetValue(name, out var entry))
        {
            throw new CheckpointFormatException($"{Path}: no tensor named '{name}'.");
        }

        var bytes = new byte[entry.End - entry.Begin];
        lock (_stream)
        {
            _stream.Seek(_dataStart + entry.Begin, SeekOrigin.Begin);
            _stream.ReadExactly(bytes);
        }

        return bytes;
    }

    /// <summary>Reads a floating tensor (F32, F16, BF16 or F64) converted to float32.</summary>
    public float[] ReadFloat32(string name)
    {
        var entry = Entries[name];
        var raw = ReadBytes(name);
        return Safetensors.ToFloat32(raw, entry.DType, $"{Path}:{name}");
    }

    /// <summary>Reads an integer tensor (I64, I32, I16, I8, U8, BOOL) widened to int64.</summary>
    public long[] ReadInt64(string name)
    {
        var entry = Entries[name];
        var raw = ReadBytes(name);
        var n = (int)entry.ElementCount;
        var result = new long[n];
        switch (entry.DType)
        {
            case SafetensorsDType.I64:
                for (var i = 0; i < n; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(i * 8));
                break;
            case SafetensorsDType.I32:
                for (var i = 0; i < n; i++) result[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(i * 4));
                break;
            case SafetensorsDType.I16:
                for (var i = 0; i < n; i++) result[i] = BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(i * 2));
                break;
            case SafetensorsDType.I8:
                for (var i = 0; i < n; i++) result[i] = (sbyte)raw[i];
                break;
            case SafetensorsDType.U8:
            case SafetensorsDType.BOOL:
                for (var i = 0; i < n; i++) result[i] = raw[i];
                break;
            default:
                throw new CheckpointFormatException($"{Path}: tensor '{name}' is {entry.DType}, not an integer type.");
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}

/// <summary>A tensor to be written: name, dtype, shape and little-endian bytes.</summary>
public sealed record SafetensorsTensor(string Name, SafetensorsDType DType, long[] Shape, byte[] Data);

/// <summary>Helpers for the safetensors format: dtype sizes, conversion, writing (single file and sharded).</summary>
public static class Safetensors
{
    /// <summary>The index file name of a sharded Hugging Face checkpoint.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The single-file checkpoint name.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>Bytes per element of a dtype.</summary>
    public static int SizeOf(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        _ => 1,
    };

    /// <summary>Converts raw little-endian floating data to float32.</summary>
    public static float[] ToFloat32(byte[] raw, SafetensorsDType dtype, string what)
    {
        var size = SizeOf(dtype);
        var n = raw.Length / size;
        var result = new float[n];
        switch (dtype)
        {
            case SafetensorsDType.F32:
                Buffer.BlockCopy(raw, 0, result, 0, raw.Length);
                if (!BitConverter.IsLittleEndian)
                {
                    throw new PlatformNotSupportedException("Big-endian hosts are not supported.");
                }

                break;
            case SafetensorsDType.F16:
                for (var i = 0; i < n; i++) result[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(i * 2)));
                break;
            case SafetensorsDType.BF16:
                for (var i = 0; i < n; i++) result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(i * 2)) << 16);
                break;
            case SafetensorsDType.F64:
                for (var i = 0; i < n; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.AsSpan(i * 8));
                break;
            default:
                throw new CheckpointFormatException($"{what} is {dtype}, not a floating type.");
        }

        return result;
    }

    /// <summary>Converts float32 values to the bytes of a floating dtype (round-to-nearest-even for BF16).</summary>
    public static byte[] FromFloat32(ReadOnlySpan<float> values, SafetensorsDType dtype)
    {
        var size = SizeOf(dtype);
        var bytes = new byte[values.Length * size];
        for (var i = 0; i < values.Length; i++)
        {
            switch (dtype)
            {
                case SafetensorsDType.F32:
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
                    break;
                case SafetensorsDType.F16:
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), BitConverter.HalfToUInt16Bits((Half)values[i]));
                    break;
                case SafetensorsDType.BF16:
                    var bits = BitConverter.SingleToUInt32Bits(values[i]);
                    ushort bf = float.IsNaN(values[i]) ? (ushort)0x7FC0 : (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), bf);
                    break;
                case SafetensorsDType.F64:
                    BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
                    break;
                default:
                    throw new ArgumentException($"{dtype} is not a floating type.", nameof(dtype));
            }
        }

        return bytes;
    }

    /// <summary>
    /// Writes one safetensors file: tensors sorted by name, contiguous offsets, header padded with spaces to a multiple
    /// of 8, <c>__metadata__</c> with <c>format: pt</c> (Hugging Face loaders require it). Written to a temporary file
    /// and renamed, so a crash never leaves a half-written checkpoint under the final name.
    /// </summary>
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var sorted = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        var meta = new JsonObject { ["format"] = "pt" };
        if (metadata is not null)
        {
            foreach (var (k, v) in metadata) meta[k] = v;
        }

        header["__metadata__"] = meta;
        long offset = 0;
        foreach (var t in sorted)
        {
            var expected = t.Shape.Aggregate(1L, (a, b) => a * b) * SizeOf(t.DType);
            if (expected != t.Data.Length)
            {
                throw new ArgumentException($"Tensor '{t.Name}' has {t.Data.Length} bytes but its shape needs {expected}.");
            }

            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType.ToString(),
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + t.Data.Length),
            };
            offset += t.Data.Length;
        }

        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (headerBytes.Length + 7) / 8 * 8;
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            fs.Write(len);
            fs.Write(headerBytes);
            for (var i = headerBytes.Length; i < padded; i++) fs.WriteByte((byte)' ');
            foreach (var t in sorted) fs.Write(t.Data);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// Writes a checkpoint folder: a single <c>model.safetensors</c> when the data fits in <paramref name="maxShardBytes"/>,
    /// otherwise <c>model-0000k-of-0000n.safetensors</c> shards plus <c>model.safetensors.index.json</c> (Hugging Face layout).
    /// </summary>
    public static void WriteCheckpoint(string directory, IReadOnlyList<SafetensorsTensor> tensors, long maxShardBytes = 5L * 1024 * 1024 * 1024)
    {
        Directory.CreateDirectory(directory);
        var total = tensors.Sum(t => (long)t.Data.Length);
        if (total <= maxShardBytes)
        {
            Write(System.IO.Path.Combine(directory, SingleFileName), tensors);
            return;
        }

        var shards = new List<List<SafetensorsTensor>> { new() };
        long current = 0;
        foreach (var t in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (current > 0 && current + t.Data.Length > maxShardBytes)
            {
                shards.Add(new List<SafetensorsTensor>());
                current = 0;
            }

            shards[^1].Add(t);
            current += t.Data.Length;
        }

        var weightMap = new JsonObject();
        for (var i = 0; i < shards.Count; i++)
        {
            var name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            Write(System.IO.Path.Combine(directory, name), shards[i]);
            foreach (var t in shards[i]) weightMap[t.Name] = name;
        }

        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = total },
            ["weight_map"] = weightMap,
        };
        File.WriteAllText(System.IO.Path.Combine(directory, IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Lists the safetensors files of a checkpoint folder: the shards named by <c>model.safetensors.index.json</c>, or
    /// <c>model.safetensors</c>. Throws when neither exists or a shard named by the index is missing.
    /// </summary>
    public static IReadOnlyList<string> CheckpointFiles(string directory)
    {
        var indexPath = System.IO.Path.Combine(directory, IndexFileName);
        if (File.Exists(indexPath))
        {
            JsonObject index;
            try
            {
                index = JsonNode.Parse(File.ReadAllText(indexPath))?.AsObject() ?? throw new CheckpointFormatException($"{indexPath}: not a JSON object.");
            }
            catch (JsonException e)
            {
                throw new CheckpointFormatException($"{indexPath}: invalid JSON ({e.Message}).", e);
            }

            var map = index["weight_map"] as JsonObject ?? throw new CheckpointFormatException($"{indexPath}: no weight_map.");
            var files = map.Select(kv => kv.Value!.GetValue<string>()).Distinct().Order(StringComparer.Ordinal)
                .Select(f => System.IO.Path.Combine(directory, f)).ToList();
            foreach (var f in files)
            {
                if (!File.Exists(f))
                {
                    throw new CheckpointFormatException($"{indexPath}: shard '{System.IO.Path.GetFileName(f)}' is missing.");
                }
            }

            return files;
        }

        var single = System.IO.Path.Combine(directory, SingleFileName);
        if (File.Exists(single))
        {
            return [single];
        }

        throw new CheckpointFormatException($"{directory}: no {SingleFileName} or {IndexFileName}.");
    }
}
