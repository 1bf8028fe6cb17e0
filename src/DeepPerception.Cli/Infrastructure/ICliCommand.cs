namespace DeepPerception.Cli.Infrastructure;

/// <summary>One verb of the <c>deepperception</c> command line.</summary>
public interface ICliCommand
{
    /// <summary>The verb as typed, e.g. <c>ground</c> or <c>tokenizer train</c>.</summary>
    string Name { get; }

    /// <summary>One line describing the verb.</summary>
    string Summary { get; }

    /// <summary>The verb's options.</summary>
    IReadOnlyList<CliOption> Options { get; }

    /// <summary>Runs the verb; returns the process exit code.</summary>
    Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken);
}

/// <summary>Where a verb writes: standard output for results, standard error for progress and diagnostics.</summary>
/// <param name="Out">Results.</param>
/// <param name="Error">Progress and errors.</param>
public sealed record CliContext(TextWriter Out, TextWriter Error);
