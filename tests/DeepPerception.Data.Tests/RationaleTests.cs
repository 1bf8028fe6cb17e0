using DeepPerception.Data.Synth;
using DeepPerception.Data.Synthesis;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Tests;

/// <summary>The paper's teacher prompt, templated four-phase rationales and the IoU gate.</summary>
public sealed class RationaleTests
{
    private static readonly CompositeOptions Small = new() { MinCanvas = 224, MaxCanvas = 448, MinObjectSize = 64 };

    private static RationaleRequest Request(int index, int seed = 1)
    {
        var data = SynthesisTestData.Noisy();
        return new RationaleRequest(new CompositeBuilder(data, Small, seed).Build(index), data.Knowledge);
    }

    [Fact]
    public void Teacher_prompt_lists_every_entity_with_its_box_then_the_target_and_the_must_notes()
    {
        var objects = new[]
        {
            new TeacherObject("Douglas DC-6", new GridBox(519, 608, 986, 768)),
            new TeacherObject("Boeing 707", new GridBox(10, 20, 300, 400)),
            new TeacherObject(TeacherPrompt.Unknown, new GridBox(1, 2, 3, 4)),
        };
        var prompt = TeacherPrompt.Build(objects, 0);
        var lines = prompt.Split('\n');
        Assert.Equal(
            "This image shows Douglas DC-6 ((519,608),(986,768)), Boeing 707 ((10,20),(300,400)), and [Unknown] ((1,2),(3,4)). " +
            "The bounding box of Douglas DC-6 is (519,608),(986,768). Give the reasoning process that would identify it based on the image and your knowledge.",
            lines[0]);
        Assert.Equal(TeacherPrompt.MustNotes, lines.Skip(1));
        Assert.All(lines.Skip(1), l => Assert.Contains("MUST", l));
        Assert.StartsWith("This image shows A ((1,2),(3,4)) and B ((5,6),(7,8)). The bounding box of B is (5,6),(7,8).",
            TeacherPrompt.Build([new TeacherObject("A", new GridBox(1, 2, 3, 4)), new TeacherObject("B", new GridBox(5, 6, 7, 8))], 1));
    }

    [Fact]
    public void Templated_rationale_has_the_four_phases_in_order_with_every_box_and_ends_with_the_answer()
    {
        for (var i = 0; i < 16; i++)
        {
            var request = Request(i);
            var text = TemplatedRationaleTeacher.Write(request);
            var think = text[..text.IndexOf("</think>", StringComparison.Ordinal)];
            var positions = TemplatedRationaleTeacher.Phases.Select(p => think.IndexOf(p, StringComparison.Ordinal)).ToList();
            Assert.All(positions, p => Assert.True(p >= 0));
            Assert.Equal(positions.Order(), positions);

            var analysis = think[positions[1]..positions[2]];
            Assert.All(request.Objects, o => Assert.Contains(o.Box.ToBoxText(), analysis));
            var comparison = think[positions[2]..positions[3]];
            Assert.All(request.Objects.Where((_, k) => k != request.TargetIndex), o => Assert.Contains(o.Entity, comparison));
            Assert.EndsWith($"its bounding box is {request.Target.Box.ToBoxText()}.", think);
            Assert.Contains(request.Knowledge[request.Target.Entity].Attributes["plumage"], think[positions[0]..positions[1]]);

            var t = request.Target.Box;
            Assert.EndsWith("</think>\n" + KvgPrompts.Solution(request.Target.Entity, t.X1, t.Y1, t.X2, t.Y2), text);
            Assert.True(KvgRewards.HasThinkAnswerFormat(text));

            var verdict = RationaleGate.Evaluate(text, request.Composite.Sample.TargetGridBox);
            Assert.True(verdict.Kept);
            Assert.Equal(1.0, verdict.IoU, 9);
        }
    }

    [Fact]
    public void Comparison_names_the_attribute_that_differs()
    {
        var k = SynthesisTestData.Knowledge();
        Assert.Equal(["plumage red"], KnowledgeText.Differences(k["Azure Tit"], k["Crimson Finch"]).Where(d => d.StartsWith("plumage", StringComparison.Ordinal)));
        Assert.Equal(["crest long", "plumage red"], KnowledgeText.Differences(k["Azure Tit"], k["Crimson Finch"]));
        Assert.Empty(KnowledgeText.Differences(k["Azure Tit"], k["Azure Tit"]));
        Assert.Equal("The Azure Tit is a small bird with blue plumage", KnowledgeText.FirstSentence(k["Azure Tit"].Text));
    }

    [Fact]
    public void Gate_keeps_matching_boxes_and_rejects_with_a_reason()
    {
        var label = new GridBox(100, 200, 300, 400);
        var good = "Planning: find it.\nVisual Analysis: A (10,10),(50,50); B (100,200),(300,400).\nConclusion: it is at (100,200),(300,400).";
        var verdict = RationaleGate.Evaluate(good, label);
        Assert.True(verdict.Kept);
        Assert.Equal(new BoundingBox(100, 200, 300, 400), verdict.FinalBox);

        // The final box decides, not the first one mentioned.
        var wrongLast = "Visual Analysis: B (100,200),(300,400).\nConclusion: it is at (10,10),(50,50).";
        Assert.Equal(RationaleRejection.LowIoU, RationaleGate.Evaluate(wrongLast, label).Rejection);

        // With an answer block, its box decides.
        var answered = wrongLast + "\n<answer> (104,198),(300,401) </answer>";
        Assert.True(RationaleGate.Evaluate(answered, label).Kept);
        Assert.Equal(RationaleRejection.NoBox, RationaleGate.Evaluate(good + "<answer>no idea</answer>", label).Rejection);
        Assert.Equal(RationaleRejection.NoBox, RationaleGate.Evaluate("I cannot tell which one it is.", label).Rejection);
        Assert.Equal(RationaleRejection.Empty, RationaleGate.Evaluate("  ", label).Rejection);

        // A loose box passes a low threshold only.
        var loose = "Conclusion: (100,200),(300,560).";
        Assert.False(RationaleGate.Evaluate(loose, label, 0.7).Kept);
        Assert.True(RationaleGate.Evaluate(loose, label, 0.5).Kept);
        Assert.Throws<ArgumentOutOfRangeException>(() => RationaleGate.Evaluate(good, label, 1.5));
    }

    [Fact]
    public void Sft_target_wraps_the_reasoning_in_one_think_block_and_answers_with_the_label()
    {
        var target = RationaleGate.SftTarget("<think>Planning: x.\nConclusion: (1,2),(3,4).</think>\n<answer> (1,2),(3,4) </answer>", "Azure Tit", new GridBox(1, 2, 3, 5));
        Assert.Equal("<think>Planning: x.\nConclusion: (1,2),(3,4).</think>\n" + KvgPrompts.Solution("Azure Tit", 1, 2, 3, 5), target);
        Assert.True(KvgRewards.HasThinkAnswerFormat(target));
    }
}
