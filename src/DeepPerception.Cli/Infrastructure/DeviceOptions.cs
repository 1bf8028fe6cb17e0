using DeepPerception.ML.Runtime;
using TorchSharp;

namespace DeepPerception.Cli.Infrastructure;

/// <summary>The <c>--threads</c> and <c>--device</c> options shared by verbs that run tensors, and the worker they select.</summary>
public static class DeviceOptions
{
    /// <summary>The two options.</summary>
    public static IReadOnlyList<CliOption> Options { get; } =
    [
        new("threads", "N", $"intra-op CPU threads (default: processor count, {Environment.ProcessorCount})"),
        new("device", "cpu|cuda", "where tensors live (default: cpu)"),
    ];

    /// <summary>Reads the options and starts the one <see cref="DeviceWorker"/> that does all tensor work of the run.</summary>
    /// <exception cref="CliUsageException">A bad value, or <c>cuda</c> on a machine without a usable GPU.</exception>
    public static DeviceWorker CreateWorker(CliArguments args)
    {
        var threads = args.Int("threads", Environment.ProcessorCount, 1, 4096);
        var device = args.Choice("device", "cpu", "cpu", "cuda");
        if (device == "cuda" && !torch.cuda.is_available())
        {
            throw new CliUsageException("--device", "cuda was requested but no CUDA device is available to TorchSharp.");
        }

        return new DeviceWorker(device == "cuda" ? torch.CUDA : torch.CPU, threads, "deepperception");
    }
}
