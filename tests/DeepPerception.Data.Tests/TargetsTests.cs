using System.Text.RegularExpressions;
using DeepPerception.Data.Synth;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Tests;

/// <summary>Direct and CoT targets, distinguishing attributes and the IoU-gated rejection filter.</summary>
public sealed class TargetsTests
{
    [Fact]
    public void Direct_IsTheNativeGroundingAnswer()
    {
        var s = TestData.Samples(1).First();
        var b = s.TargetGridBox;
        Assert.Equal($"<|object_ref_start|>{s.Target.Label}<|object_ref_end|><|box_start|>({b.X1},{b.Y1}),({b.X2},{b.Y2})<|box_end|>", SynthTargets.Direct(s));
        Assert.Matches(@"^\(\d+,\d+\),\(\d+,\d+\)$", s.Answer);
    }

    [Fact]
    public void Cot_HasThinkThenAnswer_WithTheLabelBox_AndIsShort()
    {
        foreach (var s in TestData.Samples(120))
        {
            var cot = SynthTargets.Cot(s);
            Assert.True(KvgRewards.HasThinkAnswerFormat(cot), cot);
            Assert.EndsWith($"<answer> <|object_ref_start|>{s.Target.Label}<|object_ref_end|><|box_start|>{s.Answer}<|box_end|> </answer>", cot);
            var think = Regex.Match(cot, "<think>(.*)</think>").Groups[1].Value;
            Assert.True(SynthTargets.CountWords(think) <= SynthTargets.MaxThinkWords, $"{SynthTargets.CountWords(think)} words: {think}");
            Assert.StartsWith(s.Target.Label + " has ", think);
            Assert.Contains($"{s.Objects.Count} {s.Target.Entity!.Domain.PluralNoun}", think);
            Assert.Contains(s.Answer, think);
            Assert.EndsWith($"So it is {s.Target.Label}.", think);
            Assert.Equal(1.0, RationaleFilter.AnswerIoU(cot, s.TargetGridBox), 6);

            // The reference evaluator's parser finds the same box in the decoded text.
            var parsed = KvgAnswerParser.Parse(cot.Replace("<|object_ref_start|>", string.Empty).Replace("<|object_ref_end|>", string.Empty).Replace("<|box_start|>", string.Empty).Replace("<|box_end|>", string.Empty));
            Assert.False(parsed.IsFailure);
            Assert.Equal(s.TargetGridBox.ToBoundingBox(), parsed.Box);
        }
    }

    [Fact]
    public void LocateLast_Cot_WritesTheBoxOnlyInTheAnswer_RightAfterNamingThePlace()
    {
        foreach (var s in TestData.Samples(120))
        {
            var cot = SynthTargets.Cot(s, CotLayout.LocateLast);
            Assert.True(KvgRewards.HasThinkAnswerFormat(cot), cot);
            Assert.EndsWith(SynthTargets.AnswerBlock(s), cot);
            var think = Regex.Match(cot, "<think>(.*)</think>").Groups[1].Value;
            Assert.DoesNotContain(s.Answer, think);
            Assert.True(SynthTargets.CountWords(think) <= SynthTargets.MaxThinkWords, $"{SynthTargets.CountWords(think)} words: {think}");
            Assert.StartsWith(s.Target.Label + " has ", think);
            Assert.EndsWith($"{SynthTargets.Subject(s, s.Target)} has {SynthText.JoinAnd(SynthTargets.DistinguishingKinds(s).Select(k => SynthText.Phrase(s.Target.Entity!, k)).ToList())}. So it is {s.Target.Label}.", think);
            Assert.Equal(1.0, RationaleFilter.AnswerIoU(cot, s.TargetGridBox), 6);

            // Every sentence of the default layout, less the box, is there (the shorter think may fit one more comparison).
            var boxInAnalysis = Regex.Match(SynthTargets.Cot(s), "<think>(.*)</think>").Groups[1].Value;
            var sentences = think.Split(". ").ToHashSet(StringComparer.Ordinal);
            Assert.All(boxInAnalysis.Replace(" " + s.Answer, string.Empty, StringComparison.Ordinal).Split(". "), sentence => Assert.Contains(sentence, sentences));
        }
    }

    [Fact]
    public void Recall_Cot_IsOneSentenceOfTheTargetsDistinguishingAttributes_ThenTheAnswer()
    {
        foreach (var s in TestData.Samples(120))
        {
            var cot = SynthTargets.Cot(s, CotLayout.Recall);
            Assert.True(KvgRewards.HasThinkAnswerFormat(cot), cot);
            var phrases = SynthText.JoinAnd(SynthTargets.DistinguishingKinds(s).Select(k => SynthText.Phrase(s.Target.Entity!, k)).ToList());
            Assert.Equal($"<think>{s.Target.Label} has {phrases}.</think>\n{SynthTargets.AnswerBlock(s)}", cot);
            Assert.Equal(1.0, RationaleFilter.AnswerIoU(cot, s.TargetGridBox), 6);

            // It is the first sentence of the default layout's analysis, which goes on to places and comparisons.
            Assert.StartsWith($"<think>{s.Target.Label} has {phrases}. ", SynthTargets.Think(s));
        }
    }

    [Fact]
    public void Describe_Cot_IsTheTargetsKnowledgeSentence_ThenTheAnswer()
    {
        foreach (var s in TestData.Samples(60))
        {
            var cot = SynthTargets.Cot(s, CotLayout.Describe);
            Assert.True(KvgRewards.HasThinkAnswerFormat(cot), cot);
            Assert.Equal($"<think>{SynthText.Knowledge(s.Target.Entity!)}</think>\n{SynthTargets.AnswerBlock(s)}", cot);
            Assert.StartsWith(s.Target.Label + " is a", SynthText.Knowledge(s.Target.Entity!));
            Assert.Equal(1.0, RationaleFilter.AnswerIoU(cot, s.TargetGridBox), 6);
        }
    }

    [Fact]
    public void DistinguishingKinds_SingleTheTargetOut()
    {
        foreach (var s in TestData.Samples(80))
        {
            var kinds = SynthTargets.DistinguishingKinds(s);
            Assert.True(kinds.Count >= 2);
            var t = s.Target.Entity!.Attributes;
            foreach (var o in s.Objects.Where(o => o != s.Target))
            {
                Assert.Contains(kinds, k => o.Entity!.Attributes.Value(k) != t.Value(k));
            }

            var think = SynthTargets.Think(s);
            foreach (var k in kinds)
            {
                Assert.Contains(SynthText.Phrase(s.Target.Entity!, k), think);
            }
        }
    }

    [Fact]
    public void Cot_DescribesPlacesFromTheLayout()
    {
        var samples = TestData.Samples(80).ToList();
        Assert.Contains(samples, s => s.Layout == SynthLayout.HorizontalConcat && SynthTargets.Think(s).Contains("from the left"));
        Assert.Contains(samples, s => s.Layout == SynthLayout.VerticalConcat && SynthTargets.Think(s).Contains("from the top"));
        Assert.Contains(samples, s => s.Layout == SynthLayout.Grid && SynthTargets.Think(s).Contains(", column "));
        Assert.Contains(samples, s => s.Layout == SynthLayout.RandomPlacement && SynthTargets.Think(s).Contains("The one at the "));
    }

    [Fact]
    public void RationaleFilter_KeepsMatchingBoxes_RejectsOthers()
    {
        var label = new GridBox(100, 100, 300, 300);
        var good = "<think>x</think>\n<answer> <|object_ref_start|>A<|object_ref_end|><|box_start|>(100,100),(300,300)<|box_end|> </answer>";
        var close = "<think>x</think><answer>(110,100),(300,300)</answer>";
        var shifted = "<think>(100,100),(300,300)</think><answer>(250,250),(450,450)</answer>";
        var noAnswer = "<think>(100,100),(300,300)</think>";
        Assert.True(RationaleFilter.Keep(good, label, 0.8));
        Assert.True(RationaleFilter.Keep(close, label, 0.8));
        Assert.False(RationaleFilter.Keep(shifted, label, 0.5));
        Assert.False(RationaleFilter.Keep(noAnswer, label, 0.0001));
        Assert.Equal(0.0, RationaleFilter.AnswerIoU(noAnswer, label));
        Assert.Null(RationaleFilter.ExtractAnswerBox("<answer>no box</answer>"));
        Assert.Equal(0.95, RationaleFilter.AnswerIoU(close, label), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => RationaleFilter.Keep(good, label, 1.5));
        var kept = RationaleFilter.Filter(new[] { good, shifted, close, noAnswer }, x => x, _ => label, 0.5).ToArray();
        Assert.Equal(new[] { good, close }, kept);
    }

    [Fact]
    public void RationaleFilter_GatesGeneratedRationales_AgainstOtherObjects()
    {
        foreach (var s in TestData.Samples(20))
        {
            var cot = SynthTargets.Cot(s);
            Assert.True(RationaleFilter.Keep(cot, s.TargetGridBox, 0.8));
            foreach (var o in s.Objects.Where(o => o != s.Target))
            {
                Assert.False(RationaleFilter.Keep(cot, o.Box.ToGrid(s.Image.Width, s.Image.Height), 0.5));
            }
        }
    }
}
