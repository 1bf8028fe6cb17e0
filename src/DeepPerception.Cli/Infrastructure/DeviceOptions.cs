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

    /// <summary>Reads and checks the options (before any file is touched, so that bad values are reported first).</summary>
    /// <exception cref="CliUsageException">A bad value, or <c>cuda</c> on a machine without a usable GPU.</exception>
    public static DeviceSettings Read(CliArguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var threads = args.Int("threads", Environment.ProcessorCount, 1, 4096);
        var device = args.Choice("device", "cpu", "cpu", "cuda");
        if (device == "cuda" && !torch.cuda.is_available())
        {
            throw new CliUsageException("--device", "cuda was requested but no CUDA device is available to TorchSharp.");
        }

        return new DeviceSettings(device, threads);
    }
}

/// <summary>The device and thread count of a run.</summary>
/// <param name="Device"><c>cpu</c> or <c>cuda</c>.</param>
/// <param name="Threads">Intra-op threads.</param>
public sealed record DeviceSettings(string Device, int Threads)
{
    /// <summary>Starts the one <see cref="DeviceWorker"/> that does all tensor work of the run.</summary>
    public DeviceWorker CreateWorker() => new(Device == "cuda" ? torch.CUDA : torch.CPU, Threads, "deepperception");
}
