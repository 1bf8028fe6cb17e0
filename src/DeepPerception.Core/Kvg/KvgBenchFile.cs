using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace DeepPerception.Kvg;

/// <summary>One KVG-Bench case as stored in the benchmark parquet.</summary>
/// <param name="QuestionId"><c>question_id</c>.</param>
/// <param name="Category"><c>category</c>, e.g. <c>aircraft</c>.</param>
/// <param name="Question"><c>question</c>, the query with object-reference tokens around the entity.</param>
/// <param name="Answer"><c>answer</c>, the ground truth in Qwen2-VL box syntax.</param>
/// <param name="ImageBytes"><c>image.bytes</c>, the encoded image.</param>
/// <param name="ImagePath"><c>image.path</c>, usually null (Hugging Face writes it when the image came from a file).</param>
/// <param name="Objects">
/// Every annotated object of the image (entity and 0–1000 grid box, the target among them), or null when only the
/// target is known (the released KVG-Bench); stored in the optional <c>objects</c> column.
/// </param>
public sealed record KvgBenchItem(string QuestionId, string Category, string Question, string Answer, byte[] ImageBytes, string? ImagePath = null,
    IReadOnlyList<KvgObject>? Objects = null)
{
    /// <summary>The label of the target when the question names no entity.</summary>
    public const string UnnamedEntity = "unknown";

    /// <summary>The target as an object: <see cref="Entity"/> (or <see cref="UnnamedEntity"/>) and <see cref="GroundTruth"/>.</summary>
    /// <exception cref="KvgFormatException">The answer holds no box.</exception>
    public KvgObject Target => new(Entity ?? UnnamedEntity, GroundTruth);


    /// <summary>The ground-truth box read from <see cref="Answer"/> with the reference regex.</summary>
    /// <exception cref="KvgFormatException">The answer holds no box.</exception>
    public BoundingBox GroundTruth => KvgPrompts.ParseGroundTruth(Answer);

    /// <summary>The entity named in <see cref="Question"/>, or null.</summary>
    public string? Entity => KvgPrompts.ExtractEntity(Question);
}

/// <summary>A parquet file that does not have the KVG-Bench layout; the message names the offending column.</summary>
public sealed class KvgBenchFormatException : KvgFormatException
{
    /// <summary>Creates the exception.</summary>
    public KvgBenchFormatException(string column, string message)
        : base(message)
    {
        Column = column;
    }

    /// <summary>The column at fault.</summary>
    public string Column { get; }
}

/// <summary>
/// Reads and writes KVG-Bench parquet files as released on Hugging Face (<c>MaxyLee/KVG-Bench</c>): string columns
/// <c>question_id</c>, <c>category</c>, <c>question</c>, <c>answer</c> and the <c>datasets</c> Image struct
/// <c>image {bytes: binary, path: string}</c>. Reading streams one row group at a time.
/// </summary>
public static class KvgBenchFile
{
    /// <summary>Column names in file order.</summary>
    public static IReadOnlyList<string> StringColumns { get; } = ["question_id", "category", "question", "answer"];

    /// <summary>The image struct column.</summary>
    public const string ImageColumn = "image";

    /// <summary>The Hugging Face <c>datasets</c> metadata key that declares the features.</summary>
    public const string HuggingFaceMetadataKey = "huggingface";

    /// <summary>The default number of rows per row group when writing.</summary>
    public const int DefaultRowGroupSize = 64;

    /// <summary>The schema <c>datasets</c> writes for these features: optional UTF-8 strings and an optional struct of optional binary and string.</summary>
    public static ParquetSchema Schema { get; } = new(
        new DataField<string>("question_id", true),
        new DataField<string>("category", true),
        new DataField<string>("question", true),
        new DataField<string>("answer", true),
        new StructField(ImageColumn, new DataField<byte[]>("bytes", true), new DataField<string>("path", true)));

    /// <summary>
    /// The optional column holding every annotated object of the image as JSON text,
    /// <c>[{"entity": "...", "box": [x1, y1, x2, y2]}, ...]</c> (0–1000 grid); written only when an item has objects.
    /// </summary>
    public const string ObjectsColumn = "objects";

    /// <summary>The schema with the optional <see cref="ObjectsColumn"/> after the image.</summary>
    public static ParquetSchema SchemaWithObjects { get; } = new(
        new DataField<string>("question_id", true),
        new DataField<string>("category", true),
        new DataField<string>("question", true),
        new DataField<string>("answer", true),
        new StructField(ImageColumn, new DataField<byte[]>("bytes", true), new DataField<string>("path", true)),
        new DataField<string>(ObjectsColumn, true));

    /// <summary>The <c>huggingface</c> metadata value declaring the features (so <c>datasets</c> decodes <c>image</c> as an Image).</summary>
    public const string HuggingFaceMetadata =
        "{\"info\": {\"features\": {\"question_id\": {\"dtype\": \"string\", \"_type\": \"Value\"}, " +
        "\"category\": {\"dtype\": \"string\", \"_type\": \"Value\"}, \"question\": {\"dtype\": \"string\", \"_type\": \"Value\"}, " +
        "\"answer\": {\"dtype\": \"string\", \"_type\": \"Value\"}, \"image\": {\"_type\": \"Image\"}}}}";

    /// <summary>The <c>huggingface</c> metadata value of a file with the <see cref="ObjectsColumn"/> (a string feature).</summary>
    public const string HuggingFaceMetadataWithObjects =
        "{\"info\": {\"features\": {\"question_id\": {\"dtype\": \"string\", \"_type\": \"Value\"}, " +
        "\"category\": {\"dtype\": \"string\", \"_type\": \"Value\"}, \"question\": {\"dtype\": \"string\", \"_type\": \"Value\"}, " +
        "\"answer\": {\"dtype\": \"string\", \"_type\": \"Value\"}, \"image\": {\"_type\": \"Image\"}, " +
        "\"objects\": {\"dtype\": \"string\", \"_type\": \"Value\"}}}}";

    /// <summary>Streams the items of a KVG-Bench parquet file, one row group at a time.</summary>
    /// <exception cref="KvgBenchFormatException">A column is missing, has the wrong type, or holds a null where a value is required.</exception>
    public static async IAsyncEnumerable<KvgBenchItem> ReadAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        await using var stream = File.OpenRead(path);
        await foreach (var item in ReadAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <summary>Streams the items of a KVG-Bench parquet stream (readable and seekable), one row group at a time.</summary>
    /// <exception cref="KvgBenchFormatException">A column is missing, has the wrong type, or holds a null where a value is required.</exception>
    public static async IAsyncEnumerable<KvgBenchItem> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await using var reader = await ParquetReader.CreateAsync(stream, null, true, cancellationToken).ConfigureAwait(false);
        var layout = Validate(reader.Schema);
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            var rowGroup = reader.OpenRowGroupReader(g);
            var rows = checked((int)rowGroup.RowCount);
            var strings = new string?[layout.Strings.Length][];
            for (var c = 0; c < layout.Strings.Length; c++)
            {
                strings[c] = await ReadStringsAsync(rowGroup, layout.Strings[c], rows, cancellationToken).ConfigureAwait(false);
            }

            var bytes = await ReadColumnAsync<ReadOnlyMemory<byte>, byte[]>(rowGroup, layout.Bytes, rows, v => v.ToArray(), cancellationToken).ConfigureAwait(false);
            var paths = layout.Path is null ? null : await ReadStringsAsync(rowGroup, layout.Path, rows, cancellationToken).ConfigureAwait(false);
            var objects = layout.Objects is null ? null : await ReadStringsAsync(rowGroup, layout.Objects, rows, cancellationToken).ConfigureAwait(false);

            for (var r = 0; r < rows; r++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var row = string.Create(CultureInfo.InvariantCulture, $"row {r} of row group {g}");
                yield return new KvgBenchItem(
                    Required(strings[0][r], StringColumns[0], row),
                    Required(strings[1][r], StringColumns[1], row),
                    Required(strings[2][r], StringColumns[2], row),
                    Required(strings[3][r], StringColumns[3], row),
                    bytes[r] ?? throw new KvgBenchFormatException("image.bytes", $"Column 'image.bytes' is null at {row}."),
                    paths?[r],
                    objects?[r] is { } json ? ParseObjects(json, row) : null);
            }
        }
    }

    /// <summary>Reads a whole file into memory (small files and tests).</summary>
    public static async Task<IReadOnlyList<KvgBenchItem>> ReadAllAsync(string path, CancellationToken cancellationToken = default)
    {
        var items = new List<KvgBenchItem>();
        await foreach (var item in ReadAsync(path, cancellationToken).ConfigureAwait(false))
        {
            items.Add(item);
        }

        return items;
    }

    /// <summary>Writes items in the KVG-Bench layout to a file (overwriting it).</summary>
    public static async Task WriteAsync(string path, IEnumerable<KvgBenchItem> items, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        await using var stream = File.Create(path);
        await WriteAsync(stream, items, rowGroupSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes items in the KVG-Bench layout to a stream, <paramref name="rowGroupSize"/> rows per row group.</summary>
    public static async Task WriteAsync(Stream stream, IEnumerable<KvgBenchItem> items, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowGroupSize, 1);
        var list = items as IReadOnlyCollection<KvgBenchItem> ?? items.ToList();
        var withObjects = list.Any(i => i?.Objects is not null);
        var schema = withObjects ? SchemaWithObjects : Schema;
        var fields = schema.GetDataFields();
        await using var writer = await ParquetWriter.CreateAsync(schema, stream, null, false, cancellationToken).ConfigureAwait(false);
        writer.CustomMetadata = new Dictionary<string, string> { [HuggingFaceMetadataKey] = withObjects ? HuggingFaceMetadataWithObjects : HuggingFaceMetadata };
        foreach (var chunk in list.Chunk(rowGroupSize))
        {
            foreach (var item in chunk)
            {
                Check(item);
            }

            using var rowGroup = writer.CreateRowGroup();
            await rowGroup.WriteAsync(fields[0], chunk.Select(i => i.QuestionId).ToArray()).ConfigureAwait(false);
            await rowGroup.WriteAsync(fields[1], chunk.Select(i => i.Category).ToArray()).ConfigureAwait(false);
            await rowGroup.WriteAsync(fields[2], chunk.Select(i => i.Question).ToArray()).ConfigureAwait(false);
            await rowGroup.WriteAsync(fields[3], chunk.Select(i => i.Answer).ToArray()).ConfigureAwait(false);
            await rowGroup.WriteAsync(fields[4], chunk.Select(i => i.ImageBytes).ToArray()).ConfigureAwait(false);
            await rowGroup.WriteAsync(fields[5], chunk.Select(i => i.ImagePath).ToArray()).ConfigureAwait(false);
            if (withObjects)
            {
                await rowGroup.WriteAsync(fields[6], chunk.Select(i => i.Objects is null ? null : FormatObjects(i.Objects)).ToArray()).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The JSON text of the <see cref="ObjectsColumn"/> for a list of objects.</summary>
    public static string FormatObjects(IReadOnlyList<KvgObject> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var o in objects)
            {
                ArgumentNullException.ThrowIfNull(o);
                json.WriteStartObject();
                json.WriteString("entity", o.Entity);
                json.WriteStartArray("box");
                json.WriteNumberValue(o.Box.X1);
                json.WriteNumberValue(o.Box.Y1);
                json.WriteNumberValue(o.Box.X2);
                json.WriteNumberValue(o.Box.Y2);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads the JSON text of the <see cref="ObjectsColumn"/>.</summary>
    /// <exception cref="KvgBenchFormatException">The text is not a list of {entity, box: [x1, y1, x2, y2]} with finite numbers.</exception>
    public static IReadOnlyList<KvgObject> ParseObjects(string json, string where = "the objects column")
    {
        ArgumentNullException.ThrowIfNull(json);
        KvgBenchFormatException Bad(string why) => new(ObjectsColumn, $"Column '{ObjectsColumn}' at {where}: {why}.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw Bad($"not valid JSON ({ex.Message})");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw Bad("not a JSON array");
            }

            var result = new List<KvgObject>();
            foreach (var o in doc.RootElement.EnumerateArray())
            {
                if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("entity", out var e) || e.ValueKind != JsonValueKind.String
                    || e.GetString() is not { Length: > 0 } entity || string.IsNullOrWhiteSpace(entity))
                {
                    throw Bad($"object {result.Count} has no non-empty string 'entity'");
                }

                if (!o.TryGetProperty("box", out var b) || b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != 4
                    || b.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
                {
                    throw Bad($"object {result.Count} ('{entity}') has no 'box' of four numbers");
                }

                var v = b.EnumerateArray().Select(x => x.GetDouble()).ToArray();
                var box = new BoundingBox(v[0], v[1], v[2], v[3]);
                if (!box.IsFinite)
                {
                    throw Bad($"object {result.Count} ('{entity}') has a non-finite box");
                }

                result.Add(new KvgObject(entity, box));
            }

            return result;
        }
    }

    private static void Check(KvgBenchItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.QuestionId is null || item.Category is null || item.Question is null || item.Answer is null || item.ImageBytes is null)
        {
            throw new ArgumentException($"KVG-Bench item '{item.QuestionId}' has a null field.", nameof(item));
        }
    }

    private static string Required(string? value, string column, string row) =>
        value ?? throw new KvgBenchFormatException(column, $"Column '{column}' is null at {row}.");

    private static Task<string?[]> ReadStringsAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        if (IsString(field))
        {
            return ReadColumnAsync<ReadOnlyMemory<char>, string>(rowGroup, field, rows, v => new string(v.Span), cancellationToken);
        }

        return field.ClrType == typeof(long)
            ? ReadColumnAsync<long, string>(rowGroup, field, rows, v => v.ToString(CultureInfo.InvariantCulture), cancellationToken)
            : ReadColumnAsync<int, string>(rowGroup, field, rows, v => v.ToString(CultureInfo.InvariantCulture), cancellationToken);
    }

    /// <summary>
    /// Reads one leaf column of a row group into one entry per row: a value where the definition level is the
    /// column's maximum, null otherwise (a null leaf or a null enclosing struct).
    /// </summary>
    private static async Task<TOut?[]> ReadColumnAsync<TRaw, TOut>(
        ParquetRowGroupReader rowGroup, DataField field, int rows, Func<TRaw, TOut> convert, CancellationToken cancellationToken)
        where TRaw : struct
        where TOut : class
    {
        var values = new TRaw?[rows];
        await rowGroup.ReadAsync<TRaw>(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        var result = new TOut?[rows];
        for (var r = 0; r < rows; r++)
        {
            if (values[r] is { } v)
            {
                result[r] = convert(v);
            }
        }

        return result;
    }

    private sealed record Layout(DataField[] Strings, DataField Bytes, DataField? Path, DataField? Objects);

    private static Layout Validate(ParquetSchema schema)
    {
        var top = schema.Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var strings = new DataField[StringColumns.Count];
        for (var c = 0; c < StringColumns.Count; c++)
        {
            var name = StringColumns[c];
            if (!top.TryGetValue(name, out var field))
            {
                throw new KvgBenchFormatException(name, $"The KVG-Bench parquet has no '{name}' column (columns: {string.Join(", ", top.Keys)}).");
            }

            // question_id may be stored as an integer; it is used as text (as Python's f-string formatting does).
            var integerId = name == "question_id" && field is DataField { IsArray: false } idField && (idField.ClrType == typeof(long) || idField.ClrType == typeof(int));
            if (field is not DataField { IsArray: false } data || (!IsString(data) && !integerId))
            {
                throw new KvgBenchFormatException(name, $"Column '{name}' must be a string column, but it is {Describe(field)}.");
            }

            strings[c] = data;
        }

        if (!top.TryGetValue(ImageColumn, out var image))
        {
            throw new KvgBenchFormatException(ImageColumn, $"The KVG-Bench parquet has no '{ImageColumn}' column (columns: {string.Join(", ", top.Keys)}).");
        }

        if (image is not StructField imageStruct)
        {
            throw new KvgBenchFormatException(ImageColumn, $"Column '{ImageColumn}' must be a struct {{bytes: binary, path: string}}, but it is {Describe(image)}.");
        }

        var children = imageStruct.Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        if (!children.TryGetValue("bytes", out var bytesField))
        {
            throw new KvgBenchFormatException("image.bytes", $"Column '{ImageColumn}' has no 'bytes' field.");
        }

        if (bytesField is not DataField { IsArray: false } bytes || !IsBinary(bytes))
        {
            throw new KvgBenchFormatException("image.bytes", $"Column 'image.bytes' must be binary, but it is {Describe(bytesField)}.");
        }

        DataField? path = null;
        if (children.TryGetValue("path", out var pathField))
        {
            if (pathField is not DataField { IsArray: false } p || !IsString(p))
            {
                throw new KvgBenchFormatException("image.path", $"Column 'image.path' must be a string, but it is {Describe(pathField)}.");
            }

            path = p;
        }

        DataField? objects = null;
        if (top.TryGetValue(ObjectsColumn, out var objectsField))
        {
            if (objectsField is not DataField { IsArray: false } o || !IsString(o))
            {
                throw new KvgBenchFormatException(ObjectsColumn, $"Column '{ObjectsColumn}' must be a string (JSON) column, but it is {Describe(objectsField)}.");
            }

            objects = o;
        }

        return new Layout(strings, bytes, path, objects);
    }

    /// <summary>Parquet.Net reports UTF-8 columns as <see cref="string"/> or <see cref="ReadOnlyMemory{T}"/> of char.</summary>
    private static bool IsString(DataField field) => field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>);

    /// <summary>Parquet.Net reports un-annotated BYTE_ARRAY columns as byte[] or <see cref="ReadOnlyMemory{T}"/> of byte.</summary>
    private static bool IsBinary(DataField field) => field.ClrType == typeof(byte[]) || field.ClrType == typeof(ReadOnlyMemory<byte>);

    private static string TypeName(Type t) => t.IsGenericType
        ? $"{t.Name[..t.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", t.GetGenericArguments().Select(TypeName))}>"
        : t.Name;

    private static string Describe(Field field) => field switch
    {
        DataField { IsArray: true } d => $"a list of {TypeName(d.ClrType)}",
        DataField d when IsString(d) => "a string",
        DataField d when IsBinary(d) => "binary",
        DataField d => $"of type {TypeName(d.ClrType)}",
        _ => $"a {field.SchemaType.ToString().ToLowerInvariant()}",
    };
}
