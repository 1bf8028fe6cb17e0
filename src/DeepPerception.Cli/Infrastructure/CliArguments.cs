using System.Globalization;

namespace DeepPerception.Cli.Infrastructure;

/// <summary>
/// The parsed options of one verb. Parsing is strict: an unknown option, a missing value, a repeated option, a stray
/// positional word or a missing required option is a <see cref="CliUsageException"/> naming the argument.
/// </summary>
public sealed class CliArguments
{
    private readonly Dictionary<string, string?> _values;

    private CliArguments(Dictionary<string, string?> values, bool help)
    {
        _values = values;
        HelpRequested = help;
    }

    /// <summary>Whether <c>--help</c> or <c>-h</c> was given (then nothing else is checked).</summary>
    public bool HelpRequested { get; }

    /// <summary>Parses <paramref name="args"/> against <paramref name="options"/>.</summary>
    /// <exception cref="CliUsageException">The arguments do not fit the options.</exception>
    public static CliArguments Parse(IReadOnlyList<string> args, IReadOnlyList<CliOption> options)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(options);
        if (args.Any(a => a is "--help" or "-h"))
        {
            return new CliArguments(new Dictionary<string, string?>(StringComparer.Ordinal), help: true);
        }

        var byName = options.ToDictionary(o => o.Name, StringComparer.Ordinal);
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new CliUsageException(arg, "unexpected argument (options are written --name VALUE).");
            }

            var name = arg[2..];
            string? inlineValue = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inlineValue = name[(eq + 1)..];
                name = name[..eq];
            }

            if (!byName.TryGetValue(name, out var option))
            {
                throw new CliUsageException("--" + name, $"unknown option. Known options: {string.Join(", ", options.Select(o => "--" + o.Name))}.");
            }

            if (values.ContainsKey(name))
            {
                throw new CliUsageException("--" + name, "given more than once.");
            }

            if (!option.HasValue)
            {
                if (inlineValue is not null)
                {
                    throw new CliUsageException("--" + name, "is a flag and takes no value.");
                }

                values[name] = null;
                continue;
            }

            if (inlineValue is null)
            {
                if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                {
                    throw new CliUsageException("--" + name, $"needs a value ({option.ValueName}).");
                }

                inlineValue = args[++i];
            }

            values[name] = inlineValue;
        }

        foreach (var option in options.Where(o => o.Required && !values.ContainsKey(o.Name)))
        {
            throw new CliUsageException("--" + option.Name, $"is required ({option.Syntax}).");
        }

        return new CliArguments(values, help: false);
    }

    /// <summary>Whether the option (value or flag) was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>The value of a required option.</summary>
    public string Required(string name) =>
        _values.TryGetValue(name, out var v) && v is not null ? v : throw new CliUsageException("--" + name, "is required.");

    /// <summary>The value of an option, or <paramref name="fallback"/>.</summary>
    public string? String(string name, string? fallback = null) => _values.TryGetValue(name, out var v) ? v : fallback;

    /// <summary>An integer option in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue) => IntOrNull(name, min, max) ?? fallback;

    /// <summary>An integer option in range, or null when absent.</summary>
    public int? IntOrNull(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(name, out var text) || text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw new CliUsageException("--" + name, $"'{text}' is not an integer.");
        }

        if (value < min || value > max)
        {
            var range = max == int.MaxValue ? $"at least {min}" : $"between {min} and {max}";
            throw new CliUsageException("--" + name, $"{value} is out of range (must be {range}).");
        }

        return value;
    }

    /// <summary>A finite positive number option, or <paramref name="fallback"/>.</summary>
    public double PositiveDouble(string name, double fallback)
    {
        if (!_values.TryGetValue(name, out var text) || text is null)
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value <= 0)
        {
            throw new CliUsageException("--" + name, $"'{text}' is not a positive number.");
        }

        return value;
    }

    /// <summary>An option restricted to <paramref name="choices"/> (case-insensitive), returned in lower case.</summary>
    public string Choice(string name, string fallback, params string[] choices)
    {
        var text = String(name);
        if (text is null)
        {
            return fallback;
        }

        var match = choices.FirstOrDefault(c => string.Equals(c, text, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new CliUsageException("--" + name, $"'{text}' is not one of {string.Join(", ", choices)}.");
    }

    /// <summary>A path to an existing directory.</summary>
    public string ExistingDirectory(string name)
    {
        var path = Required(name);
        return Directory.Exists(path) ? Path.GetFullPath(path) : throw new CliUsageException("--" + name, $"directory '{path}' does not exist.");
    }

    /// <summary>A path to an existing file.</summary>
    public string ExistingFile(string name)
    {
        var path = Required(name);
        return File.Exists(path) ? Path.GetFullPath(path) : throw new CliUsageException("--" + name, $"file '{path}' does not exist.");
    }
}
