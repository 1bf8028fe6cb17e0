using System.Text.Json;
using Orleans.Storage;

namespace DeepPerception.Grains.Hosting;

/// <summary>
/// Serializes grain state as System.Text.Json (web defaults), the same format <see cref="FileGrainStorage"/> writes, for
/// Orleans storage providers such as the Azure blob grain storage. The platform's state classes are plain mutable
/// classes made for this serializer; Orleans' default JSON serializer cannot read all of them back.
/// </summary>
public sealed class JsonGrainStateSerializer : IGrainStorageSerializer
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <inheritdoc />
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, Options));

    /// <inheritdoc />
    /// <exception cref="JsonException">The stored document is not a valid <typeparamref name="T"/>.</exception>
    public T Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return JsonSerializer.Deserialize<T>(input.ToMemory().Span, Options)
               ?? throw new JsonException($"Stored grain state of type {typeof(T).Name} is null.");
    }
}
