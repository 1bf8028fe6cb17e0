using System.Globalization;

namespace DeepPerception.Benchmarks;

/// <summary>Parses the <c>serving</c> verb's options and runs <see cref="ServingBenchmark"/>.</summary>
internal static class ServingCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, string usage)
    {
        var options = new ServingBenchmarkOptions();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                int Int(string s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
                    ? v
                    : throw new ArgumentException($"'{s}' is not a positive integer.");
                switch (args[i])
                {
                    case "--concurrency": options = options with { Concurrency = Next().Split(',').Select(Int).ToArray() }; break;
                    case "--requests": options = options with { Requests = Int(Next()) }; break;
                    case "--max-batch": options = options with { MaxBatch = Int(Next()) }; break;
                    case "--max-wait-ms":
                        var wait = Next();
                        options = options with
                        {
                            MaxWaitMs = double.TryParse(wait, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && w >= 0
                                ? w
                                : throw new ArgumentException($"'{wait}' is not a non-negative number."),
                        };
                        break;
                    case "--new-tokens": options = options with { MaxNewTokens = Int(Next()) }; break;
                    case "--train-steps": options = options with { TrainSteps = Int(Next()) }; break;
                    case "--host": options = options with { HostDll = Next() }; break;
                    case "--work": options = options with { WorkDirectory = Next() }; break;
                    case "--out": options = options with { OutputPath = Next() }; break;
                    default: throw new ArgumentException($"Unknown option '{args[i]}'.");
                }
            }
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            await Console.Error.WriteLineAsync(usage);
            return 2;
        }

        var report = await new ServingBenchmark(options, output).RunAsync(CancellationToken.None);
        await output.WriteLineAsync();
        await output.WriteLineAsync(report);
        if (options.OutputPath is { } path)
        {
            await File.WriteAllTextAsync(path, report);
        }

        return 0;
    }
}
