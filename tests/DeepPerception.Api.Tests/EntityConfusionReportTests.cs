using System.Text.Json;
using DeepPerception.Api.Services;
using DeepPerception.Client;
using DeepPerception.Kvg;

namespace DeepPerception.Api.Tests;

/// <summary>The evaluation report's entity × entity matrices, built from runner reports.</summary>
public sealed class EntityConfusionReportTests
{
    private static readonly Dictionary<string, double> NoMetrics = new();

    private static object Item(string id, string category, string entity, string match, string matched, bool objectsKnown = true) => new
    {
        questionId = id,
        category,
        entity,
        text = match == "none" ? "no idea" : "(1,2),(3,4)",
        iou = match == "target" ? 0.8 : 0.1,
        correct = match == "target",
        match,
        matched,
        objectsKnown,
    };

    private static EvaluationReportDto Build(object[] items, int maxEntities = EvaluationService.MaxConfusionEntities) =>
        EvaluationService.BuildReport("run", NoMetrics, JsonSerializer.SerializeToElement(new { items }), 10, maxEntities);

    [Fact]
    public void Rows_are_true_entities_columns_the_matched_entity_then_other_and_none_with_correct_on_the_diagonal()
    {
        var report = Build(
        [
            Item("b1", "bird", "Ash Jay", "target", "Ash Jay"),
            Item("b2", "bird", "Ash Jay", "other_entity", "Dune Wren"),
            Item("b3", "bird", "Dune Wren", "other_entity", "Ash Jay"),
            Item("b4", "bird", "Dune Wren", "none", "none"),
            Item("b5", "bird", "Dune Wren", "other", "other"),
            Item("b6", "bird", "Dune Wren", "target", "Dune Wren"),
            Item("c1", "car", "Ion GT", "target", "Ion GT", objectsKnown: false),
        ]);

        var matrices = report.Confusion.Entities!;
        Assert.Equal(["bird", "car"], matrices.Select(m => m.Domain));
        var bird = matrices[0];
        Assert.Equal(["Ash Jay", "Dune Wren"], bird.Rows);
        Assert.Equal(["Ash Jay", "Dune Wren", "other", "none"], bird.Columns);
        Assert.Equal([1, 1, 0, 0], bird.Counts[0]);
        Assert.Equal([1, 1, 1, 1], bird.Counts[1]);
        Assert.Equal((6, 2, 0, true), (bird.Items, bird.Correct, bird.FoldedEntities, bird.AllObjectsKnown));
        Assert.False(matrices[1].AllObjectsKnown);

        // The per-domain outcome summary stays as it was.
        Assert.Equal(["correct", "wrong_box", "no_box"], report.Confusion.Columns);
        Assert.Equal([2, 3, 1], report.Confusion.Rows["bird"]);
        Assert.Equal("Dune Wren", report.ErrorGallery.Single(e => e.QuestionId == "b2").Matched);
    }

    [Fact]
    public void Reports_written_before_the_match_existed_still_get_a_target_other_none_matrix()
    {
        var items = new object[]
        {
            new { questionId = "a", category = "bird", entity = "Ash Jay", text = "(1,2),(3,4)", iou = 0.9, correct = true },
            new { questionId = "b", category = "bird", entity = "Ash Jay", text = "(1,2),(3,4)", iou = 0.1, correct = false },
            new { questionId = "c", category = "bird", entity = (string?)null, text = "nothing", iou = 0.0, correct = false },
        };
        var m = Assert.Single(EvaluationService.BuildReport("old", NoMetrics, JsonSerializer.SerializeToElement(new { items }), 10).Confusion.Entities!);
        Assert.Equal(["Ash Jay", "unknown"], m.Rows);
        Assert.Equal([1, 0, 1, 0], m.Counts[0]);
        Assert.Equal([0, 0, 0, 1], m.Counts[1]);
        Assert.False(m.AllObjectsKnown);
    }

    [Fact]
    public void Beyond_the_limit_the_least_confused_entities_fold_into_one_row_and_column_keeping_the_diagonal_exact()
    {
        var items = new List<object>();
        for (var e = 0; e < 6; e++)
        {
            items.Add(Item($"t{e}", "dog", $"E{e}", "target", $"E{e}"));
        }

        items.Add(Item("x1", "dog", "E0", "other_entity", "E1")); // E0, E1 most confused: shown
        items.Add(Item("x2", "dog", "E0", "other_entity", "E1"));
        items.Add(Item("x3", "dog", "E1", "other_entity", "E5")); // E5 folded: the bucket column
        items.Add(Item("x4", "dog", "E4", "other_entity", "E3")); // both folded: other
        items.Add(Item("x5", "dog", "E3", "other_entity", "E0")); // folded target, shown sibling
        var m = Assert.Single(Build([.. items], maxEntities: 2).Confusion.Entities!);

        Assert.Equal(["E0", "E1", EntityConfusionMatrix.FoldedLabel], m.Rows);
        Assert.Equal(["E0", "E1", EntityConfusionMatrix.FoldedLabel, "other", "none"], m.Columns);
        Assert.Equal(4, m.FoldedEntities);
        Assert.Equal([1, 2, 0, 0, 0], m.Counts[0]);
        Assert.Equal([0, 1, 1, 0, 0], m.Counts[1]);
        Assert.Equal([1, 0, 4, 1, 0], m.Counts[2]);
        Assert.Equal(6, m.Correct);
        Assert.Equal(m.Correct, Enumerable.Range(0, m.Rows.Count).Sum(i => m.Counts[i][i]));
        Assert.Equal(items.Count, m.Counts.Sum(r => r.Sum()));
    }

    [Fact]
    public void An_unknown_match_kind_is_refused_with_its_name()
    {
        var ex = Assert.Throws<ArgumentException>(() => EntityConfusionMatrix.Build("bird", [new ConfusionItem("Ash Jay", "sideways", "x", true)], 5));
        Assert.Contains("sideways", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => EntityConfusionMatrix.Build("bird", [], 0));
    }

    [Fact]
    public void Entities_named_like_the_special_rows_and_columns_keep_their_own_row_and_column()
    {
        var report = Build(
        [
            Item("n1", "flower", "none", "target", "none"),
            Item("n2", "flower", "none", "other_entity", "other"),
            Item("o1", "flower", "other", "none", "none"),
            Item("o2", "flower", "other", "other", "other"),
            Item("f1", "flower", "other entities", "other_entity", "none"),
            Item("f2", "flower", "Zinnia", "target", "Zinnia"),
        ], maxEntities: 3);

        var m = Assert.Single(report.Confusion.Entities!);
        Assert.Equal(m.Columns.Count, m.Columns.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(m.Rows.Count, m.Rows.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(["none", "other", "other entities", "other entities (folded)"], m.Rows);
        Assert.Equal(["none", "other", "other entities", "other entities (folded)", "other (unattributed)", "none (no object)"], m.Columns);
        int Cell(string row, string column) => m.Counts[m.Rows.ToList().IndexOf(row)][m.Columns.ToList().IndexOf(column)];
        Assert.Equal(1, Cell("none", "none"));                          // correct
        Assert.Equal(1, Cell("none", "other"));                         // the box landed on the entity "other"
        Assert.Equal(1, Cell("other", "none (no object)"));             // no box
        Assert.Equal(1, Cell("other", "other (unattributed)"));         // a wrong box on no known entity
        Assert.Equal(1, Cell("other entities", "none"));                // the box landed on the entity "none"
        Assert.Equal(1, Cell("other entities (folded)", "other entities (folded)")); // Zinnia, folded, correct
        Assert.Equal(6, m.Items);
        Assert.Equal(2, m.Correct);
    }
}

/// <summary>Where a platform dataset's evaluation items get every object of their image from.</summary>
public sealed class DatasetObjectsTests
{
    private static JsonElement Record(string id, string image, string entity, string answer, object? objects = null) =>
        JsonSerializer.SerializeToElement(objects is null
            ? new { id, image, entity, domain = "bird", answer }
            : (object)new { id, image, entity, domain = "bird", answer, objects });

    [Fact]
    public void Records_sharing_an_image_list_each_other_as_the_objects_of_that_image()
    {
        var records = new[]
        {
            Record("a", "images/1.png", "Ash Jay", "(0,0),(400,400)"),
            Record("b", "images/1.png", "Dune Wren", "(500,0),(900,400)"),
            Record("c", "images/2.png", "Ash Jay", "(10,10),(20,20)"),
        };
        var objects = EvaluationService.DatasetObjects(records);
        var first = Assert.Single(objects).Value;
        Assert.Equal("images/1.png", objects.Keys.Single());
        Assert.Equal([new KvgObject("Ash Jay", new BoundingBox(0, 0, 400, 400)), new KvgObject("Dune Wren", new BoundingBox(500, 0, 900, 400))], first);
        Assert.Null(EvaluationService.RecordObjects(records[0]));
    }

    [Fact]
    public void A_records_own_objects_list_is_read_and_a_malformed_one_is_refused()
    {
        var record = Record("a", "images/1.png", "Ash Jay", "(0,0),(400,400)",
            new object[] { new { entity = "Ash Jay", answer = "(0,0),(400,400)" }, new { entity = "Dune Wren", answer = "(500,0),(900,400)" } });
        Assert.Equal(["Ash Jay", "Dune Wren"], EvaluationService.RecordObjects(record)!.Select(o => o.Entity));
        Assert.Equal(new BoundingBox(500, 0, 900, 400), EvaluationService.RecordObjects(record)![1].Box);

        var bad = Record("z", "images/1.png", "Ash Jay", "(0,0),(400,400)", new object[] { new { entity = "Dune Wren", answer = "left" } });
        var ex = Assert.Throws<UnprocessableException>(() => EvaluationService.RecordObjects(bad));
        Assert.Contains("'z'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Dune Wren", ex.Message, StringComparison.Ordinal);
        Assert.Throws<UnprocessableException>(() => EvaluationService.RecordObjects(Record("y", "i.png", "A", "(0,0),(1,1)", "not a list")));
    }
}
