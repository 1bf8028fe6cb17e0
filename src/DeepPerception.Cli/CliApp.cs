using DeepPerception.Checkpoints;
using DeepPerception.Cli.Commands;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.Cli;

/// <summary>
/// The <c>deepperception</c> command line: finds the verb, parses its options and runs it. Exit codes: 0 success,
/// 1 failure (including a failed parity check), 2 bad or missing arguments.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code of a run that failed (bad input files, failed checks).</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a usage error.</summary>
    public const int UsageError = 2;

    /// <summary>All verbs.</summary>
    public static IReadOnlyList<ICliCommand> Commands { get; } =
    [
        new GroundCommand(),
        new EvalCommand(),
        new ParityCommand(),
        new SynthCommand(),
        new SynthesizeCommand(),
        new TokenizerTrainCommand(),
        new InitCommand(),
        new ExperimentCommand(),
        new ExperimentCompareCommand(),
        new RemoteGroundCommand(),
    ];

    /// <summary>Runs the command line <paramref name="args"/>, writing to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0 || args[0] is "--help" or "-h" or "help")
        {
            WriteOverview(args.Count == 0 ? stderr : stdout);
            return args.Count == 0 ? UsageError : Success;
        }

        var (command, consumed) = Find(args);
        if (command is null)
        {
            await stderr.WriteLineAsync($"error: unknown command '{string.Join(' ', args.Take(consumed))}'.").ConfigureAwait(false);
            WriteOverview(stderr);
            return UsageError;
        }

        var context = new CliContext(stdout, stderr);
        try
        {
            var parsed = CliArguments.Parse(args.Skip(consumed).ToList(), command.Options);
            if (parsed.HelpRequested)
            {
                WriteHelp(command, stdout);
                return Success;
            }

            return await command.RunAsync(parsed, context, cancellationToken).ConfigureAwait(false);
        }
        catch (CliUsageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            await stderr.WriteLineAsync($"Run 'deepperception {command.Name} --help' for the options.").ConfigureAwait(false);
            return UsageError;
        }
        catch (Exception e) when (IsInputError(e))
        {
            await stderr.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return Failure;
        }
    }

    /// <summary>Errors caused by the files or data a verb was given, reported as one line instead of a stack trace.</summary>
    private static bool IsInputError(Exception e) => e is CheckpointFormatException or TokenizerLoadException or KvgFormatException
        or ImageDecodeException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException or ArgumentException
        or InvalidOperationException or Data.Synthesis.SynthesisInputException or Data.Synthesis.RationaleTeacherException;

    private static (ICliCommand? Command, int Consumed) Find(IReadOnlyList<string> args)
    {
        foreach (var command in Commands)
        {
            var words = command.Name.Split(' ');
            if (args.Count >= words.Length && words.Select((w, i) => w == args[i]).All(x => x))
            {
                return (command, words.Length);
            }
        }

        // A group word alone (e.g. "tokenizer") names its sub-verbs in the error.
        return (null, args.Count > 1 && Commands.Any(c => c.Name.StartsWith(args[0] + " ", StringComparison.Ordinal)) ? 2 : 1);
    }

    /// <summary>Writes the list of verbs.</summary>
    public static void WriteOverview(TextWriter writer)
    {
        writer.WriteLine("usage: deepperception <command> [options]   (deepperception <command> --help for its options)");
        writer.WriteLine();
        writer.WriteLine("commands:");
        foreach (var command in Commands)
        {
            writer.WriteLine($"  {command.Name,-18} {command.Summary}");
        }
    }

    /// <summary>Writes the help of one verb.</summary>
    public static void WriteHelp(ICliCommand command, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(command);
        var required = command.Options.Where(o => o.Required).Select(o => o.Syntax);
        var optional = command.Options.Where(o => !o.Required).Select(o => $"[{o.Syntax}]");
        writer.WriteLine($"usage: deepperception {command.Name} {string.Join(' ', required.Concat(optional))}");
        writer.WriteLine();
        writer.WriteLine(command.Summary);
        writer.WriteLine();
        writer.WriteLine("options:");
        var width = command.Options.Max(o => o.Syntax.Length) + 2;
        foreach (var option in command.Options)
        {
            writer.WriteLine($"  {option.Syntax.PadRight(width)}{option.Description}{(option.Required ? " (required)" : string.Empty)}");
        }

        writer.WriteLine($"  {"--help".PadRight(width)}show this help");
    }
}
