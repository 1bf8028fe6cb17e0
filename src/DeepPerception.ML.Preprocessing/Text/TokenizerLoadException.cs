namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>
/// Thrown when a tokenizer file (a Hugging Face <c>tokenizer.json</c> or <c>tokenizer_config.json</c>) is missing,
/// is not valid JSON, or does not describe a tokenizer this library supports. The message names the file and the problem.
/// </summary>
public sealed class TokenizerLoadException : Exception
{
    /// <summary>Creates the exception for <paramref name="filePath"/> with a description of <paramref name="problem"/>.</summary>
    public TokenizerLoadException(string filePath, string problem, Exception? innerException = null)
        : base($"Cannot load tokenizer file '{filePath}': {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file that could not be loaded.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with the file, without the path.</summary>
    public string Problem { get; }
}
