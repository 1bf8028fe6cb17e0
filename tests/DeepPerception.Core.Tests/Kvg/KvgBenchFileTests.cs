using DeepPerception.Kvg;
using Parquet;
using Parquet.Schema;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>KVG-Bench parquet: the Hugging Face layout, row-group streaming, round trip and typed errors.</summary>
public sealed class KvgBenchFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kvg-bench-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static KvgBenchItem Item(int i, string category, string? path = null) => new(
        $"{category}/{i}",
        category,
        KvgPrompts.Query($"Entity {i} ✈"),
        KvgPrompts.NativeAnswer($"Entity {i} ✈", i, i + 1, 500 + i, 600 + i),
        Enumerable.Range(0, 100 + i).Select(b => (byte)(b * 7 + i)).ToArray(),
        path);

    [Fact]
    public async Task Round_trip_over_several_row_groups()
    {
        var items = new[] { Item(1, "aircraft"), Item(2, "bird", "images/2.jpg"), Item(3, "dog"), Item(4, "landmark"), Item(5, "food") };
        var file = Path.Combine(_dir, "kvg-bench.parquet");
        await KvgBenchFile.WriteAsync(file, items, rowGroupSize: 2);

        await using (var reader = await ParquetReader.CreateAsync(file))
        {
            Assert.Equal(3, reader.RowGroupCount);
        }

        var back = await KvgBenchFile.ReadAllAsync(file);
        Assert.Equal(items.Length, back.Count);
        for (var i = 0; i < items.Length; i++)
        {
            Assert.Equal(items[i].QuestionId, back[i].QuestionId);
            Assert.Equal(items[i].Category, back[i].Category);
            Assert.Equal(items[i].Question, back[i].Question);
            Assert.Equal(items[i].Answer, back[i].Answer);
            Assert.Equal(items[i].ImageBytes, back[i].ImageBytes);
            Assert.Equal(items[i].ImagePath, back[i].ImagePath);
        }

        Assert.Equal(new BoundingBox(2, 3, 502, 602), back[1].GroundTruth);
        Assert.Equal("Entity 2 ✈", back[1].Entity);
    }

    [Fact]
    public async Task Schema_is_the_hugging_face_image_layout()
    {
        var file = Path.Combine(_dir, "schema.parquet");
        await KvgBenchFile.WriteAsync(file, [Item(1, "car")]);
        await using var reader = await ParquetReader.CreateAsync(file);

        Assert.Equal(["question_id", "category", "question", "answer", "image"], reader.Schema.Fields.Select(f => f.Name));
        foreach (var field in reader.Schema.Fields.Take(4))
        {
            var data = Assert.IsType<DataField>(field, exactMatch: false);
            Assert.Contains(data.ClrType, new[] { typeof(string), typeof(ReadOnlyMemory<char>) });
            Assert.True(data.IsNullable);
        }

        var image = Assert.IsType<StructField>(reader.Schema.Fields[4]);
        Assert.Equal(["bytes", "path"], image.Fields.Select(f => f.Name));
        Assert.Contains(((DataField)image.Fields[0]).ClrType, new[] { typeof(byte[]), typeof(ReadOnlyMemory<byte>) });
        Assert.Contains(((DataField)image.Fields[1]).ClrType, new[] { typeof(string), typeof(ReadOnlyMemory<char>) });
        Assert.All(image.Fields, f => Assert.True(f.IsNullable));

        // Physical types as pyarrow writes them: optional BYTE_ARRAY, strings annotated as UTF-8, inside an optional group.
        var elements = reader.Metadata!.Schema;
        var group = elements.Single(e => e.Name == "image");
        Assert.Equal(Parquet.Meta.FieldRepetitionType.OPTIONAL, group.RepetitionType);
        Assert.Equal(2, group.NumChildren);
        var bytes = elements.Single(e => e.Name == "bytes");
        Assert.Equal(Parquet.Meta.Type.BYTE_ARRAY, bytes.Type);
        Assert.Null(bytes.LogicalType?.STRING);
        var path = elements.Single(e => e.Name == "path");
        Assert.Equal(Parquet.Meta.Type.BYTE_ARRAY, path.Type);
        Assert.True(path.LogicalType?.STRING is not null || path.ConvertedType == Parquet.Meta.ConvertedType.UTF8);

        Assert.Equal(KvgBenchFile.HuggingFaceMetadata, reader.CustomMetadata[KvgBenchFile.HuggingFaceMetadataKey]);
    }

    [Fact]
    public async Task A_null_path_inside_a_present_image_struct_has_definition_level_1()
    {
        // pyarrow reads the struct as present when a child's definition level is >= 1; a null path must not
        // mark the whole image struct as null.
        var file = Path.Combine(_dir, "levels.parquet");
        await KvgBenchFile.WriteAsync(file, [Item(1, "car"), Item(2, "car", "p.jpg")]);
        await using var reader = await ParquetReader.CreateAsync(file);
        var rg = reader.OpenRowGroupReader(0);
        var fields = reader.Schema.GetDataFields();
        var path = fields.Single(f => f.Path.ToString().EndsWith("path", StringComparison.Ordinal));
        var bytes = fields.Single(f => f.Path.ToString().EndsWith("bytes", StringComparison.Ordinal));
        Assert.Equal(2, path.MaxDefinitionLevel);
        Assert.Equal(2, bytes.MaxDefinitionLevel);

        var pathValues = new ReadOnlyMemory<char>[2];
        var pathLevels = new int[2];
        await rg.ReadRawAsync<ReadOnlyMemory<char>>(path, pathValues.AsMemory(), pathLevels.AsMemory(), null);
        Assert.Equal([1, 2], pathLevels);

        var bytesValues = new ReadOnlyMemory<byte>[2];
        var bytesLevels = new int[2];
        await rg.ReadRawAsync<ReadOnlyMemory<byte>>(bytes, bytesValues.AsMemory(), bytesLevels.AsMemory(), null);
        Assert.Equal([2, 2], bytesLevels);
    }

    [Fact]
    public async Task Reading_streams_row_groups_lazily()
    {
        var file = Path.Combine(_dir, "lazy.parquet");
        await KvgBenchFile.WriteAsync(file, Enumerable.Range(0, 10).Select(i => Item(i, "bird")), rowGroupSize: 3);
        var first = new List<KvgBenchItem>();
        await foreach (var item in KvgBenchFile.ReadAsync(file))
        {
            first.Add(item);
            if (first.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["bird/0", "bird/1"], first.Select(i => i.QuestionId));
        Assert.Equal(10, (await KvgBenchFile.ReadAllAsync(file)).Count);
    }

    private async Task<string> WriteCustomAsync(ParquetSchema schema, Func<ParquetRowGroupWriter, DataField[], Task> write)
    {
        var file = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".parquet");
        await using var stream = File.Create(file);
        await using (var writer = await ParquetWriter.CreateAsync(schema, stream))
        {
            using var rg = writer.CreateRowGroup();
            await write(rg, schema.GetDataFields());
        }

        return file;
    }

    private static async Task<KvgBenchFormatException> ReadFailsAsync(string file)
    {
        return await Assert.ThrowsAsync<KvgBenchFormatException>(async () => await KvgBenchFile.ReadAllAsync(file));
    }

    [Fact]
    public async Task Missing_column_is_named()
    {
        var schema = new ParquetSchema(
            new DataField<string>("question_id"),
            new DataField<string>("category"),
            new DataField<string>("question"),
            new StructField("image", new DataField<byte[]>("bytes", true), new DataField<string>("path", true)));
        var file = await WriteCustomAsync(schema, async (rg, f) =>
        {
            await rg.WriteAsync(f[0], new[] { "q" });
            await rg.WriteAsync(f[1], new[] { "car" });
            await rg.WriteAsync(f[2], new[] { "text" });
            await rg.WriteAsync(f[3], new[] { new byte[] { 1 } });
            await rg.WriteAsync(f[4], new string?[] { null });
        });

        var e = await ReadFailsAsync(file);
        Assert.Equal("answer", e.Column);
        Assert.Contains("'answer'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_column_type_is_named()
    {
        var schema = new ParquetSchema(
            new DataField<string>("question_id"),
            new DataField<int>("category"),
            new DataField<string>("question"),
            new DataField<string>("answer"),
            new StructField("image", new DataField<byte[]>("bytes", true), new DataField<string>("path", true)));
        var file = await WriteCustomAsync(schema, async (rg, f) =>
        {
            await rg.WriteAsync(f[0], new[] { "q" });
            await rg.WriteAsync<int>(f[1], new[] { 3 }.AsMemory());
            await rg.WriteAsync(f[2], new[] { "text" });
            await rg.WriteAsync(f[3], new[] { "a" });
            await rg.WriteAsync(f[4], new[] { new byte[] { 1 } });
            await rg.WriteAsync(f[5], new string?[] { null });
        });

        var e = await ReadFailsAsync(file);
        Assert.Equal("category", e.Column);
        Assert.Contains("Int32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_that_is_not_a_struct_is_rejected()
    {
        var schema = new ParquetSchema(
            new DataField<string>("question_id"),
            new DataField<string>("category"),
            new DataField<string>("question"),
            new DataField<string>("answer"),
            new DataField<byte[]>("image"));
        var file = await WriteCustomAsync(schema, async (rg, f) =>
        {
            foreach (var field in f.Take(4))
            {
                await rg.WriteAsync(field, new[] { "x" });
            }

            await rg.WriteAsync(f[4], new[] { new byte[] { 1 } });
        });

        Assert.Equal("image", (await ReadFailsAsync(file)).Column);
    }

    [Fact]
    public async Task Image_bytes_missing_or_mistyped_is_rejected()
    {
        var noBytes = new ParquetSchema(
            new DataField<string>("question_id"),
            new DataField<string>("category"),
            new DataField<string>("question"),
            new DataField<string>("answer"),
            new StructField("image", new DataField<string>("path", true)));
        var file1 = await WriteCustomAsync(noBytes, async (rg, f) =>
        {
            foreach (var field in f)
            {
                await rg.WriteAsync(field, new[] { "x" });
            }
        });
        Assert.Equal("image.bytes", (await ReadFailsAsync(file1)).Column);

        var stringBytes = new ParquetSchema(
            new DataField<string>("question_id"),
            new DataField<string>("category"),
            new DataField<string>("question"),
            new DataField<string>("answer"),
            new StructField("image", new DataField<string>("bytes", true), new DataField<string>("path", true)));
        var file2 = await WriteCustomAsync(stringBytes, async (rg, f) =>
        {
            foreach (var field in f)
            {
                await rg.WriteAsync(field, new[] { "x" });
            }
        });
        var e = await ReadFailsAsync(file2);
        Assert.Equal("image.bytes", e.Column);
        Assert.Contains("binary", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Null_values_are_rejected_with_the_column_name()
    {
        var file = await WriteCustomAsync(KvgBenchFile.Schema, async (rg, f) =>
        {
            await rg.WriteAsync(f[0], new[] { "q" });
            await rg.WriteAsync(f[1], new[] { "car" });
            await rg.WriteAsync(f[2], new[] { "text" });
            await rg.WriteAsync(f[3], new string?[] { null });
            await rg.WriteAsync(f[4], new[] { new byte[] { 1 } });
            await rg.WriteAsync(f[5], new string?[] { null });
        });
        Assert.Equal("answer", (await ReadFailsAsync(file)).Column);

        var noImage = await WriteCustomAsync(KvgBenchFile.Schema, async (rg, f) =>
        {
            foreach (var field in f.Take(4))
            {
                await rg.WriteAsync(field, new[] { "x" });
            }

            await rg.WriteAsync(f[4], new byte[]?[] { null });
            await rg.WriteAsync(f[5], new string?[] { null });
        });
        Assert.Equal("image.bytes", (await ReadFailsAsync(noImage)).Column);
    }

    [Fact]
    public async Task Integer_question_ids_are_read_as_text()
    {
        var schema = new ParquetSchema(
            new DataField<long>("question_id"),
            new DataField<string>("category"),
            new DataField<string>("question"),
            new DataField<string>("answer"),
            new StructField("image", new DataField<byte[]>("bytes", true), new DataField<string>("path", true)));
        var file = await WriteCustomAsync(schema, async (rg, f) =>
        {
            await rg.WriteAsync<long>(f[0], new[] { 42L }.AsMemory());
            await rg.WriteAsync(f[1], new[] { "car" });
            await rg.WriteAsync(f[2], new[] { "text" });
            await rg.WriteAsync(f[3], new[] { "a" });
            await rg.WriteAsync(f[4], new[] { new byte[] { 1 } });
            await rg.WriteAsync(f[5], new string?[] { null });
        });

        var item = Assert.Single(await KvgBenchFile.ReadAllAsync(file));
        Assert.Equal("42", item.QuestionId);
    }

    [Fact]
    public async Task Writer_rejects_null_fields()
    {
        var bad = new KvgBenchItem("q", "car", "text", "a", null!);
        await Assert.ThrowsAsync<ArgumentException>(() => KvgBenchFile.WriteAsync(Path.Combine(_dir, "bad.parquet"), [bad]));
    }
}
