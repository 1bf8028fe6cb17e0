namespace DeepPerception.Cli.Infrastructure;

/// <summary>One option of a verb: <c>--name VALUE</c>, or a flag without a value.</summary>
/// <param name="Name">The option name without dashes.</param>
/// <param name="ValueName">The placeholder of the value in help (e.g. <c>DIR</c>), or null for a flag.</param>
/// <param name="Description">One line of help.</param>
/// <param name="Required">Whether the option must be given.</param>
public sealed record CliOption(string Name, string? ValueName, string Description, bool Required = false)
{
    /// <summary>Whether the option takes a value.</summary>
    public bool HasValue => ValueName is not null;

    /// <summary>How the option is written in usage lines.</summary>
    public string Syntax => HasValue ? $"--{Name} {ValueName}" : $"--{Name}";
}
