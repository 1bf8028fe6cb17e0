using DeepPerception.Data.Synth;
using DeepPerception.Experiments;
using DeepPerception.Kvg;

namespace DeepPerception.Experiments.Tests;

/// <summary>The experiment's entity-confusion counts use the shared matcher on every drawn object of a synth image.</summary>
public sealed class EntityConfusionTests
{
    private static readonly SynthSample Sample = new SynthGenerator(SynthWorld.Create(7)).Generate(SynthDomains.All[0], 3, 0);

    private static BoundingBox Grid(SynthObject o) => o.Box.ToGrid(Sample.Image.Width, Sample.Image.Height).ToBoundingBox();

    [Fact]
    public void The_synth_items_carry_every_drawn_object_and_the_target_among_them()
    {
        var item = SynthExporter.ToKvgBenchItems([Sample]).Single();
        Assert.NotNull(item.Objects);
        Assert.Equal(Sample.Objects.Count, item.Objects!.Count);
        Assert.Equal(Sample.Objects.Select(o => o.Label), item.Objects.Select(o => o.Entity));
        Assert.Equal(item.Target, item.Objects[Sample.TargetIndex]);
    }

    [Fact]
    public void Target_sibling_and_no_box_are_counted_in_the_matrix()
    {
        Assert.True(Sample.Objects.Count >= 2);
        var sibling = Sample.Objects.First(o => !ReferenceEquals(o, Sample.Target));
        var confusion = new EntityConfusion();
        confusion.Add(Sample, Grid(Sample.Target));
        confusion.Add(Sample, Grid(sibling));
        confusion.Add(Sample, null);
        confusion.Add(Sample, new BoundingBox(-500, -500, -400, -400));

        Assert.Same(Sample.Target, EntityConfusion.Match(Sample, Grid(Sample.Target)));
        Assert.Same(sibling, EntityConfusion.Match(Sample, Grid(sibling)));
        Assert.Null(EntityConfusion.Match(Sample, null));
        Assert.Equal((1, 1, 2), (confusion.TargetEntity, confusion.OtherEntity, confusion.NoEntity));
        var row = confusion.Matrix[Sample.Target.Label];
        Assert.Equal(1, row[Sample.Target.Label]);
        Assert.Equal(1, row[sibling.Label]);
        Assert.Equal(2, row[EntityConfusion.None]);
    }

    [Fact]
    public void A_match_reported_by_the_evaluator_is_counted_as_is()
    {
        var confusion = new EntityConfusion();
        confusion.Add("Ash Jay", new KvgEntityMatch(KvgMatchKind.Other, KvgEntityMatcher.Other, 0));
        Assert.Equal(1, confusion.NoEntity);
        Assert.Equal(1, confusion.Matrix["Ash Jay"][KvgEntityMatcher.Other]);
        Assert.Throws<ArgumentException>(() => confusion.Add("", new KvgEntityMatch(KvgMatchKind.None, KvgEntityMatcher.None, 0)));
    }
}
