namespace DeepPerception.Cli.Infrastructure;

/// <summary>A bad or missing command-line argument; the CLI reports it and exits with code 2.</summary>
public sealed class CliUsageException : Exception
{
    /// <summary>Creates the exception for <paramref name="argument"/> (e.g. <c>--model</c>), or null when it concerns the verb.</summary>
    public CliUsageException(string? argument, string message)
        : base(argument is null ? message : $"{argument}: {message}")
    {
        Argument = argument;
    }

    /// <summary>The argument at fault, or null.</summary>
    public string? Argument { get; }
}
