namespace DeepPerception.Grains.Gpu;

/// <summary>Options of the engine GPU worker (<see cref="EngineGpuWorkRunner"/> and its device thread).</summary>
public sealed class EngineGpuWorkerOptions
{
    /// <summary>Local scratch folder for downloaded models, datasets and checkpoints (default: a folder under the system temp).</summary>
    public string WorkDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "deepperception-gpu");

    /// <summary>The device: <c>auto</c> (CUDA when available, else CPU; default), <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Intra-op threads of the device worker (default 1).</summary>
    public int Threads { get; set; } = 1;

    /// <summary>Most ground requests generated together in one batch (1 turns dynamic batching off; default 8).</summary>
    public int ServingMaxBatchSize { get; set; } = 8;

    /// <summary>How long the oldest waiting ground request waits for companions before its batch starts (default 10 ms).</summary>
    public double ServingMaxWaitMs { get; set; } = 10;

    /// <summary>
    /// Whether the batch wait adapts to the load (default true): a lone request starts at once, and requests wait for
    /// companions only while fewer are queued than the previous batch held (see <c>DynamicBatcherOptions.AdaptiveWait</c>).
    /// </summary>
    public bool ServingAdaptiveWait { get; set; } = true;

    /// <summary>Most ground requests waiting on the silo; more are refused as over capacity (default 1024).</summary>
    public int ServingMaxQueueLength { get; set; } = 1024;

    /// <summary>Checkpoints kept loaded for serving, least recently used out (default 2).</summary>
    public int ServingMaxLoadedModels { get; set; } = 2;

    /// <summary>LoRA adapters (fine-tuned versions) kept loaded per served base model, least recently used out (default 64).</summary>
    public int ServingMaxAdaptersPerModel { get; set; } = 64;

    /// <summary>The image processor's max_pixels when serving (default 401408, the paper's training resolution).</summary>
    public int ServingMaxPixels { get; set; } = 401408;

    /// <summary>Returns the validation errors (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(WorkDirectory))
        {
            errors.Add($"{nameof(WorkDirectory)} is required.");
        }

        if (Device is not ("auto" or "cpu" or "cuda"))
        {
            errors.Add($"{nameof(Device)} must be auto, cpu or cuda (got '{Device}').");
        }

        if (Threads < 1)
        {
            errors.Add($"{nameof(Threads)} must be at least 1.");
        }

        if (ServingMaxBatchSize is < 1 or > 256)
        {
            errors.Add($"{nameof(ServingMaxBatchSize)} must be between 1 and 256.");
        }

        if (!double.IsFinite(ServingMaxWaitMs) || ServingMaxWaitMs is < 0 or > 10_000)
        {
            errors.Add($"{nameof(ServingMaxWaitMs)} must be between 0 and 10000.");
        }

        if (ServingMaxQueueLength < 1)
        {
            errors.Add($"{nameof(ServingMaxQueueLength)} must be at least 1.");
        }

        if (ServingMaxLoadedModels < 1)
        {
            errors.Add($"{nameof(ServingMaxLoadedModels)} must be at least 1.");
        }

        if (ServingMaxAdaptersPerModel < 1)
        {
            errors.Add($"{nameof(ServingMaxAdaptersPerModel)} must be at least 1.");
        }

        if (ServingMaxPixels < 28 * 28 * 4)
        {
            errors.Add($"{nameof(ServingMaxPixels)} must be at least 3136.");
        }

        return errors;
    }
}
