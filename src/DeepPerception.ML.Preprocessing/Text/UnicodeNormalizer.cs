using System.Text;
using Microsoft.ML.Tokenizers;

namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>A <see cref="Normalizer"/> applying one Unicode normalization form (NFC for Qwen's tokenizer).</summary>
internal sealed class UnicodeNormalizer(NormalizationForm form) : Normalizer
{
    public NormalizationForm Form { get; } = form;

    public override string Normalize(string original) => original.IsNormalized(Form) ? original : original.Normalize(Form);

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
