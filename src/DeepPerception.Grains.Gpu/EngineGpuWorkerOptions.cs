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

        return errors;
    }
}
