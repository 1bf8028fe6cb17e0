using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>The exact prompt, query and answer strings.</summary>
public sealed class KvgPromptsTests
{
    private const string Question = "Find and give the bounding box of <|object_ref_start|>Sukhoi Su-30<|object_ref_end|>";

    [Fact]
    public void Query_format()
    {
        Assert.Equal(Question, KvgPrompts.Query("Sukhoi Su-30"));
    }

    [Fact]
    public void R1_template_has_two_spaces_after_the_question()
    {
        Assert.Equal(
            Question + "  Output the thinking process in <think> </think> and final answer (bounding box) in <answer> </answer> tags.",
            KvgPrompts.R1(Question));
    }

    [Fact]
    public void Template_placeholder_is_replaced_once_without_rescanning()
    {
        Assert.Equal("{Question}  Output the thinking process in <think> </think> and final answer (bounding box) in <answer> </answer> tags.", KvgPrompts.R1("{Question}"));
    }

    [Fact]
    public void Prompt_styles()
    {
        Assert.Equal(new KvgPromptTurns(Question, null, false), KvgPrompts.Build(KvgPromptStyle.None, Question));
        Assert.Equal(KvgPrompts.R1(Question), KvgPrompts.Build(KvgPromptStyle.R1, Question).FirstTurn);
        Assert.Equal(Question + ". Let's think step by step", KvgPrompts.Build(KvgPromptStyle.CotNormal, Question).FirstTurn);

        var cot = KvgPrompts.Build(KvgPromptStyle.CotKvg, Question);
        Assert.Equal("Which object in this image is Sukhoi Su-30? Give a detailed and discriminative description of the appearance of it", cot.FirstTurn);
        Assert.Equal("Based on the description, find and give the bounding box of <|object_ref_start|>Sukhoi Su-30<|object_ref_end|>", cot.SecondTurn);
        Assert.True(cot.FirstTurnImageDropped);
    }

    [Fact]
    public void Cot_kvg_without_a_reference_is_a_format_error()
    {
        Assert.Throws<KvgFormatException>(() => KvgPrompts.Build(KvgPromptStyle.CotKvg, "Find the jet"));
    }

    [Theory]
    [InlineData(null, KvgPromptStyle.None)]
    [InlineData("None", KvgPromptStyle.None)]
    [InlineData("r1", KvgPromptStyle.R1)]
    [InlineData("cot-normal", KvgPromptStyle.CotNormal)]
    [InlineData("cot-kvg", KvgPromptStyle.CotKvg)]
    public void Style_names(string? name, KvgPromptStyle style)
    {
        Assert.Equal(style, KvgPrompts.ParseStyle(name));
    }

    [Fact]
    public void Unknown_style_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => KvgPrompts.ParseStyle("R1"));
    }

    [Fact]
    public void Entity_extraction_takes_the_first_reference()
    {
        Assert.Equal("Sukhoi Su-30", KvgPrompts.ExtractEntity(Question));
        Assert.Equal("A", KvgPrompts.ExtractEntity("<|object_ref_start|>A<|object_ref_end|> and <|object_ref_start|>B<|object_ref_end|>"));
        Assert.Equal(string.Empty, KvgPrompts.ExtractEntity("<|object_ref_start|><|object_ref_end|>"));
        Assert.Null(KvgPrompts.ExtractEntity("no reference"));
        Assert.Null(KvgPrompts.ExtractEntity("<|object_ref_start|>multi\nline<|object_ref_end|>"));
    }

    [Fact]
    public void Answer_strings()
    {
        Assert.Equal("(519,608),(986,768)", KvgPrompts.BoxText(519, 608, 986, 768));
        Assert.Equal(
            "<|object_ref_start|>Douglas DC-6<|object_ref_end|><|box_start|>(519,608),(986,768)<|box_end|>",
            KvgPrompts.NativeAnswer("Douglas DC-6", 519, 608, 986, 768));
        Assert.Equal(
            "<answer> <|object_ref_start|>Douglas DC-6<|object_ref_end|><|box_start|>(519,608),(986,768)<|box_end|> </answer>",
            KvgPrompts.Solution("Douglas DC-6", 519, 608, 986, 768));
    }

    [Fact]
    public void Ground_truth_regex_takes_the_first_box()
    {
        var answer = KvgPrompts.NativeAnswer("X", 519, 608, 986, 768) + KvgPrompts.NativeAnswer("Y", 1, 2, 3, 4);
        Assert.Equal(new BoundingBox(519, 608, 986, 768), KvgPrompts.ParseGroundTruth(answer));
    }

    [Theory]
    [InlineData("(519,608),(986,768)")] // no box tokens
    [InlineData("<|box_start|>(519, 608),(986,768)<|box_end|>")] // spaces are not allowed
    [InlineData("<|box_start|>(\u0661,2),(3,4)<|box_end|>")] // [0-9] is ASCII only
    public void Ground_truth_without_a_box_is_a_format_error(string answer)
    {
        Assert.Throws<KvgFormatException>(() => KvgPrompts.ParseGroundTruth(answer));
    }

    [Fact]
    public void Ground_truth_with_an_empty_coordinate_is_a_format_error()
    {
        var e = Assert.Throws<KvgFormatException>(() => KvgPrompts.ParseGroundTruth("<|box_start|>(,2),(3,4)<|box_end|>"));
        Assert.Contains("Coordinate 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fgvr_template()
    {
        Assert.Equal("{Question}  Output the thinking process in <think> </think> and final answer in <answer> </answer> tags.", KvgPrompts.FgvrTemplate);
    }
}
