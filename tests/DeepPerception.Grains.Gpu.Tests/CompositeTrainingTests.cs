using System.Collections.Immutable;
using DeepPerception.Abstractions.Work;
using DeepPerception.Data.Synthesis;
using DeepPerception.Grains.Gpu;
using DeepPerception.Kvg;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>The recipe target <c>cot-composite</c>: the synthesis pipeline runs on the dataset before SFT.</summary>
public sealed class CompositeTrainingTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static ImmutableDictionary<string, string> Settings(params (string Key, string Value)[] pairs) =>
        pairs.Aggregate(ImmutableDictionary<string, string>.Empty, (d, p) => d.Add(p.Key, p.Value));

    [Fact]
    public void Recipe_reads_the_composite_target_and_its_settings()
    {
        var recipe = EngineRecipe.From(EngineFixture.SftRecipe(4, 0, Settings(("target", "cot-composite"), ("composites", "12"), ("composite_max_canvas", "224"))));
        Assert.True(recipe.CompositeTargets);
        Assert.True(recipe.CotTargets);
        Assert.Equal(12, recipe.Composites);
        Assert.Equal(224, recipe.CompositeMaxCanvas);
        Assert.False(EngineRecipe.From(EngineFixture.SftRecipe(4, 0)).CompositeTargets);
        Assert.Throws<InvalidRecipeException>(() => EngineRecipe.From(EngineFixture.SftRecipe(4, 0, Settings(("composites", "12")))));
        Assert.Throws<InvalidRecipeException>(() => EngineRecipe.From(EngineFixture.SftRecipe(4, 0, Settings(("target", "composite")))));
    }

    [Fact]
    public async Task Composite_set_has_four_phase_targets_answering_each_composites_target()
    {
        var samples = await PlatformDataset.LoadAsync(fixture.Store, fixture.Dataset.SamplesIndexKey, CancellationToken.None);
        var set = await CompositeTrainingData.BuildAsync(samples, fixture.Dataset.KnowledgeBase, 8, 224, 3, CancellationToken.None);
        Assert.Equal(8, set.Report.Composites);
        Assert.Equal(8, set.Report.Kept);
        Assert.Equal(8, set.Samples.Count);
        foreach (var s in set.Samples)
        {
            var target = set.Targets[s.Id];
            Assert.StartsWith("<think>" + TemplatedRationaleTeacher.Phases[0], target);
            Assert.All(TemplatedRationaleTeacher.Phases, p => Assert.Contains(p, target));
            Assert.EndsWith(s.Solution, target);
            Assert.True(KvgRewards.IouReward(target, s.Solution) > 0.99);
            Assert.InRange(s.Image.Width, 112, 224);
        }

        // A sample's grid box becomes a pixel box that covers it.
        foreach (var s in samples)
        {
            var labelled = CompositeTrainingData.ToLabelled(s);
            var back = labelled.Box.ToGrid(s.Image.Width, s.Image.Height);
            Assert.True(back.X1 <= s.Box.X1 && back.Y1 <= s.Box.Y1 && back.X2 >= s.Box.X2 && back.Y2 >= s.Box.Y2, $"{s.Id}: {back} vs {s.Box}");
        }
    }

    [Fact]
    public async Task Fine_tune_with_the_composite_target_trains_on_composites()
    {
        var spec = fixture.Spec("sft-composite", EngineFixture.SftRecipe(4, 0, Settings(("target", "cot-composite"), ("composites", "6"), ("composite_max_canvas", "224"))));
        var outcome = await fixture.Runner.RunFineTuneAsync(spec, null, new RecordingProgress(), CancellationToken.None);
        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(6, outcome.Metrics["composites_built"]);
        Assert.Equal(6, outcome.Metrics["composites_kept"]);
        Assert.True(double.IsFinite(outcome.Metrics["sft_loss"]));
    }
}
