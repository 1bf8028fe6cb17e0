using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.ML.Preprocessing.Tests.Text;

/// <summary>Qwen2-VL chat prompts: exact text and ids (golden ids made with the JavaScript Qwen tokenizer) and training masks.</summary>
public sealed class ChatTemplateTests
{
    private const string EvalQuestion = "Find and give the bounding box of <|object_ref_start|>Douglas DC-6<|object_ref_end|>";
    private const string Answer = "<think> The aircraft has four piston engines. </think> <answer> <|object_ref_start|>Douglas DC-6<|object_ref_end|><|box_start|>(519,608),(986,768)<|box_end|> </answer>";

    [Fact]
    public void Text_only_prompt_has_the_default_system_prompt_and_golden_ids()
    {
        var messages = new[] { ChatMessage.User("What is in this picture?") };
        const string expected = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is in this picture?<|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(expected, ChatTemplate.Render(messages, addGenerationPrompt: true));

        int[] golden = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 3838, 374, 304, 419, 6802, 30, 151645, 198, 151644, 77091, 198];
        var encoded = ChatTemplate.Encode(QwenReference.Qwen2VL, messages, addGenerationPrompt: true);
        Assert.Equal(golden, encoded.InputIds);
        Assert.All(encoded.AssistantMask, Assert.False);
    }

    [Fact]
    public void Without_generation_prompt_the_assistant_header_is_absent()
    {
        var text = ChatTemplate.Render([ChatMessage.User("Hi")], addGenerationPrompt: false);
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n", text);
    }

    [Fact]
    public void DeepPerception_eval_prompt_matches_the_golden_text_and_Qwen2VL_ids()
    {
        var userText = ChatTemplate.FormatGroundingQuestion(EvalQuestion);
        Assert.Equal(EvalQuestion + "  Output the thinking process in <think> </think> and final answer (bounding box) in <answer> </answer> tags.", userText);

        var messages = ChatTemplate.GroundingConversation(EvalQuestion, imageTokenCount: 4);
        var expected = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>"
            + "<|image_pad|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>" + userText
            + "<|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(expected, ChatTemplate.Render(messages, addGenerationPrompt: true));

        // Golden Qwen2-VL ids: <think> is plain text (" <", "think", ">") in Qwen2-VL.
        int[] golden = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652, 151655, 151655, 151655, 151655, 151653,
            9885, 323, 2968, 279, 30618, 3745, 315, 220, 151646, 91641, 26383, 10922, 12, 21, 151647, 220, 9258, 279, 7274, 1882, 304, 366, 26865, 29,
            690, 26865, 29, 323, 1590, 4226, 320, 61579, 3745, 8, 304, 366, 9217, 29, 690, 9217, 29, 9492, 13, 151645, 198, 151644, 77091, 198];
        var encoded = ChatTemplate.Encode(QwenReference.Qwen2VL, messages, addGenerationPrompt: true);
        Assert.Equal(golden, encoded.InputIds);
        Assert.Equal(QwenReference.Qwen2VLCases[1].Ids, encoded.InputIds);
        Assert.Equal(QwenReference.Qwen2VL.Encode(expected), encoded.InputIds);
    }

    [Fact]
    public void Multiple_images_come_before_the_text_with_their_own_pad_counts()
    {
        var messages = new[] { ChatMessage.User("Compare.", 2, 3) };
        var text = ChatTemplate.Render(messages, addGenerationPrompt: true);
        Assert.Contains("<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|><|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>Compare.<|im_end|>\n", text, StringComparison.Ordinal);

        var t = QwenReference.Qwen2VL;
        var encoded = ChatTemplate.Encode(t, messages, addGenerationPrompt: true);
        Assert.Equal(t.Encode(text), encoded.InputIds);
        Assert.Equal(5, encoded.InputIds.Count(id => id == t.ImagePadId));
        Assert.Equal(2, encoded.InputIds.Count(id => id == t.VisionStartId));
    }

    [Fact]
    public void A_large_image_is_expanded_to_its_token_count()
    {
        var t = QwenReference.Qwen2VL;
        var encoded = ChatTemplate.Encode(t, [ChatMessage.User("x", 16 * 12)], addGenerationPrompt: true);
        Assert.Equal(192, encoded.InputIds.Count(id => id == t.ImagePadId));
    }

    [Fact]
    public void A_given_system_prompt_replaces_the_default()
    {
        var messages = new[] { ChatMessage.System("Be brief."), ChatMessage.User("Hi") };
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.Render(messages, addGenerationPrompt: true));
    }

    [Fact]
    public void Training_mask_covers_the_answer_its_im_end_and_the_newline_after_it()
    {
        var t = QwenReference.Qwen2VL;
        var messages = ChatTemplate.GroundingConversation(EvalQuestion, imageTokenCount: 4, answer: Answer);
        var text = ChatTemplate.Render(messages, addGenerationPrompt: false);
        Assert.EndsWith("<|im_start|>assistant\n" + Answer + "<|im_end|>\n", text, StringComparison.Ordinal);

        var encoded = ChatTemplate.Encode(t, messages, addGenerationPrompt: false);
        Assert.Equal(t.Encode(text), encoded.InputIds);
        Assert.Equal(encoded.InputIds.Count, encoded.AssistantMask.Count);

        var promptLength = t.Encode(ChatTemplate.Render(messages.Take(1).ToList(), addGenerationPrompt: true)).Count;
        Assert.All(encoded.AssistantMask.Take(promptLength), Assert.False);
        Assert.All(encoded.AssistantMask.Skip(promptLength), Assert.True);

        var target = encoded.InputIds.Where((_, i) => encoded.AssistantMask[i]).ToList();
        Assert.Equal(QwenReference.Qwen2VLCases[2].Ids.Concat([151645, 198]), target);
        Assert.Equal(Answer + "<|im_end|>\n", t.Decode(target, skipSpecialTokens: false));

        var labels = encoded.Labels();
        Assert.Equal(-100, labels[promptLength - 1]);
        Assert.Equal(encoded.InputIds[promptLength], labels[promptLength]);
        Assert.Equal(promptLength, labels.Count(l => l == -100));
    }

    [Fact]
    public void Training_mask_can_stop_at_im_end()
    {
        var t = QwenReference.Qwen2VL;
        var encoded = ChatTemplate.Encode(t, [ChatMessage.User("Hi"), ChatMessage.Assistant("Hello!")], addGenerationPrompt: false, maskNewlineAfterEnd: false);
        var target = encoded.InputIds.Where((_, i) => encoded.AssistantMask[i]).ToList();
        Assert.Equal("Hello!<|im_end|>", t.Decode(target, skipSpecialTokens: false));
        Assert.Equal(198, encoded.InputIds[^1]);
        Assert.False(encoded.AssistantMask[^1]);
    }

    [Fact]
    public void Multi_turn_training_masks_every_assistant_turn_and_nothing_else()
    {
        var t = QwenReference.Qwen2VL;
        var messages = new[]
        {
            ChatMessage.User("Which object in this image is the DC-6?", 6),
            ChatMessage.Assistant("The silver four-engine airliner."),
            ChatMessage.User("Based on the description, find and give the bounding box of <|object_ref_start|>DC-6<|object_ref_end|>"),
            ChatMessage.Assistant("<|box_start|>(1,2),(3,4)<|box_end|>"),
        };
        var encoded = ChatTemplate.Encode(t, messages, addGenerationPrompt: false);
        Assert.Equal(t.Encode(ChatTemplate.Render(messages, addGenerationPrompt: false)), encoded.InputIds);
        var target = encoded.InputIds.Where((_, i) => encoded.AssistantMask[i]).ToList();
        Assert.Equal("The silver four-engine airliner.<|im_end|>\n<|box_start|>(1,2),(3,4)<|box_end|><|im_end|>\n", t.Decode(target, skipSpecialTokens: false));
        Assert.DoesNotContain(encoded.InputIds.Where((_, i) => encoded.AssistantMask[i]), id => id == t.ImStartId || id == t.ImagePadId);
        Assert.Equal(1, encoded.InputIds.Count(id => id == t.ObjectRefStartId));
    }

    [Fact]
    public void Bad_messages_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => ChatTemplate.Render([], addGenerationPrompt: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChatContent.Image(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChatMessage.User("x", -1));
        Assert.Throws<ArgumentNullException>(() => ChatContent.Text(null!));
        Assert.Throws<ArgumentNullException>(() => new ChatMessage(ChatRole.User, null!));
    }

    [Fact]
    public void Content_order_is_kept_when_given_explicitly()
    {
        var message = new ChatMessage(ChatRole.User, [ChatContent.Text("Look: "), ChatContent.Image(1), ChatContent.Text(" ok")]);
        Assert.Contains("<|im_start|>user\nLook: <|vision_start|><|image_pad|><|vision_end|> ok<|im_end|>", ChatTemplate.Render([message], addGenerationPrompt: false), StringComparison.Ordinal);
    }
}
