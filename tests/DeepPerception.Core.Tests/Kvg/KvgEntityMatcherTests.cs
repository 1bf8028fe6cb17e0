using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>Which object of an image a predicted box picked, and the parquet <c>objects</c> column.</summary>
public sealed class KvgEntityMatcherTests : IDisposable
{
    private static readonly KvgObject Finch = new("Glimmer Finch", new BoundingBox(0, 0, 400, 400));
    private static readonly KvgObject Jay = new("Ash Jay", new BoundingBox(500, 0, 900, 400));
    private static readonly KvgObject Wren = new("Dune Wren", new BoundingBox(0, 500, 400, 900));
    private static readonly KvgObject[] Image = [Finch, Jay, Wren];

    private readonly string _dir = Directory.CreateTempSubdirectory("kvg-objects-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_correct_box_matches_the_target_exactly_when_the_scorer_counts_it_correct()
    {
        var near = new BoundingBox(20, 20, 420, 410);
        var match = KvgEntityMatcher.Match(Finch, Image, near);
        Assert.Equal(KvgMatchKind.Target, match.Kind);
        Assert.Equal("Glimmer Finch", match.Label);
        Assert.Equal(BoxMath.MaxIou(near, [Finch.Box]), match.Iou);

        // Agreement with the scorer on boxes around the threshold.
        for (var shift = 0; shift <= 400; shift += 10)
        {
            var box = new BoundingBox(shift, 0, 400 + shift, 400);
            var scored = new KvgSampleResult(new KvgCase("q", "bird", string.Empty, [Finch.Box]), default, BoxMath.MaxIou(box, [Finch.Box]));
            Assert.Equal(scored.IsCorrect, KvgEntityMatcher.Match(Finch, Image, box).Kind == KvgMatchKind.Target);
        }
    }

    [Fact]
    public void A_box_on_a_sibling_names_the_sibling_with_the_best_overlap()
    {
        var match = KvgEntityMatcher.Match(Finch, Image, new BoundingBox(510, 10, 890, 390));
        Assert.Equal(new KvgEntityMatch(KvgMatchKind.OtherEntity, "Ash Jay", match.Iou), match);
        Assert.True(match.Iou >= KvgScorer.CorrectIouThreshold);
        Assert.Equal("Dune Wren", KvgEntityMatcher.Match(Finch, Image, new BoundingBox(0, 480, 400, 900)).Label);
    }

    [Fact]
    public void No_box_or_a_box_on_no_object_is_none_and_unknown_siblings_are_other()
    {
        Assert.Equal(new KvgEntityMatch(KvgMatchKind.None, KvgEntityMatcher.None, 0), KvgEntityMatcher.Match(Finch, Image, null));
        Assert.Equal(KvgMatchKind.None, KvgEntityMatcher.Match(Finch, Image, new BoundingBox(600, 600, 1000, 1000)).Kind);
        Assert.Equal(KvgMatchKind.None, KvgEntityMatcher.Match(Finch, Image, new BoundingBox(100, 100, 700, 700)).Kind); // IoU < 0.5 with all

        // Only the target known (the released KVG-Bench): a wrong box cannot be attributed.
        var onJay = new BoundingBox(510, 10, 890, 390);
        Assert.Equal(new KvgEntityMatch(KvgMatchKind.Other, KvgEntityMatcher.Other, 0), KvgEntityMatcher.Match(Finch, null, onJay));
        Assert.Equal(KvgMatchKind.None, KvgEntityMatcher.Match(Finch, null, null).Kind);
        Assert.Equal(KvgMatchKind.Target, KvgEntityMatcher.Match(Finch, null, Finch.Box).Kind);
    }

    [Fact]
    public void A_box_on_another_instance_of_the_same_entity_is_other_not_a_hit()
    {
        var second = new KvgObject("Glimmer Finch", new BoundingBox(500, 500, 900, 900));
        var match = KvgEntityMatcher.Match(Finch, [Finch, second, Jay], second.Box);
        Assert.Equal(KvgMatchKind.Other, match.Kind);
        Assert.Equal(KvgEntityMatcher.Other, match.Label);
        Assert.Equal(1.0, match.Iou);
    }

    [Fact]
    public void Overlapping_objects_prefer_the_target_when_it_is_correct()
    {
        var overlapping = new KvgObject("Ash Jay", new BoundingBox(0, 0, 380, 400));
        var match = KvgEntityMatcher.Match(Finch, [overlapping, Finch], new BoundingBox(0, 0, 380, 400));
        Assert.Equal(KvgMatchKind.Target, match.Kind);
    }

    [Fact]
    public void Bad_objects_are_refused_with_the_reason()
    {
        var empty = Assert.Throws<ArgumentException>(() => KvgEntityMatcher.Match(new KvgObject(" ", Finch.Box), null, null));
        Assert.Contains("empty entity", empty.Message, StringComparison.Ordinal);
        var nan = Assert.Throws<ArgumentException>(() =>
            KvgEntityMatcher.Match(Finch, [new KvgObject("Ash Jay", new BoundingBox(double.NaN, 0, 1, 1))], Finch.Box));
        Assert.Contains("Ash Jay", nan.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_objects_column_round_trips_and_is_absent_when_no_item_has_objects()
    {
        var image = new byte[] { 1, 2, 3 };
        KvgBenchItem[] items =
        [
            new("bird/0", "bird", KvgPrompts.Query("Glimmer Finch"), KvgPrompts.NativeAnswer("Glimmer Finch", 0, 0, 400, 400), image, null, Image),
            new("bird/1", "bird", KvgPrompts.Query("Ash Jay"), KvgPrompts.NativeAnswer("Ash Jay", 500, 0, 900, 400), image),
        ];
        var file = Path.Combine(_dir, "with-objects.parquet");
        await KvgBenchFile.WriteAsync(file, items);
        var back = await KvgBenchFile.ReadAllAsync(file);
        Assert.Equal(Image, back[0].Objects);
        Assert.Null(back[1].Objects);
        Assert.Equal(Finch, back[0].Target);
        await using (var reader = await Parquet.ParquetReader.CreateAsync(file))
        {
            Assert.Contains(KvgBenchFile.ObjectsColumn, reader.Schema.Fields.Select(f => f.Name));
            Assert.Contains("\"objects\"", reader.CustomMetadata[KvgBenchFile.HuggingFaceMetadataKey], StringComparison.Ordinal);
        }

        var plain = Path.Combine(_dir, "plain.parquet");
        await KvgBenchFile.WriteAsync(plain, [items[1]]);
        await using var plainReader = await Parquet.ParquetReader.CreateAsync(plain);
        Assert.Equal(["question_id", "category", "question", "answer", "image"], plainReader.Schema.Fields.Select(f => f.Name));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{}", "not a JSON array")]
    [InlineData("[{\"box\":[0,0,1,1]}]", "entity")]
    [InlineData("[{\"entity\":\"a\",\"box\":[0,0,1]}]", "four numbers")]
    [InlineData("[{\"entity\":\"a\",\"box\":[0,0,\"1\",1]}]", "four numbers")]
    public void Malformed_objects_text_is_a_typed_error_naming_the_column(string json, string reason)
    {
        var ex = Assert.Throws<KvgBenchFormatException>(() => KvgBenchFile.ParseObjects(json, "row 3"));
        Assert.Equal(KvgBenchFile.ObjectsColumn, ex.Column);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.Contains("row 3", ex.Message, StringComparison.Ordinal);
    }
}
