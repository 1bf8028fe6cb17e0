namespace DeepPerception.Api;

/// <summary>Settings of the HTTP API (configuration section <c>DeepPerception:Api</c>).</summary>
public sealed class DeepPerceptionApiOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "DeepPerception:Api";

    /// <summary>The reserved tenant whose admin keys are platform-admin keys (default <c>platform</c>).</summary>
    public string PlatformTenantId { get; set; } = "platform";

    /// <summary>
    /// Where the bootstrap platform-admin key is written at first start (mode 600). Default
    /// <c>{DataDirectory}/bootstrap-admin-key.txt</c>; set by the host from its data folder.
    /// </summary>
    public string? BootstrapKeyFile { get; set; }

    /// <summary>
    /// A pinned platform-admin key (for tests and compose files). When set it is accepted as a platform-admin key in
    /// addition to the keys stored in the platform tenant; it must have the platform key shape
    /// <c>dpk_{platformTenant}_{keyId}_{64 hex}</c>.
    /// </summary>
    public string? BootstrapAdminKey { get; set; }

    /// <summary>Whether the bootstrap service creates the platform tenant and its first key at start (default true).</summary>
    public bool Bootstrap { get; set; } = true;

    /// <summary>Largest JSON request body in bytes (default 24 MiB: a base64 image of 16 MiB fits).</summary>
    public long MaxJsonBytes { get; set; } = 24L * 1024 * 1024;

    /// <summary>Largest image of a ground request in bytes (default 16 MiB).</summary>
    public long MaxImageBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Largest image of a ground request in pixels (default 40 million).</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>Largest dataset or benchmark upload in bytes (default 512 MiB).</summary>
    public long MaxUploadBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Largest total uncompressed size of an uploaded zip (default 2 GiB).</summary>
    public long MaxExtractedBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Most entries in an uploaded zip (default 200000).</summary>
    public int MaxZipEntries { get; set; } = 200_000;

    /// <summary>Largest compression ratio of one zip entry (default 200; a zip bomb is far above).</summary>
    public double MaxCompressionRatio { get; set; } = 200;

    /// <summary>Most records in one dataset upload (default 1000000).</summary>
    public int MaxRecords { get; set; } = 1_000_000;

    /// <summary>GPU seconds reserved per fine-tuning step when a job does not name an estimate (default 2).</summary>
    public double GpuSecondsPerTrainingStep { get; set; } = 2;

    /// <summary>GPU seconds reserved per evaluated item when a run does not name an estimate (default 0.5).</summary>
    public double GpuSecondsPerEvaluationItem { get; set; } = 0.5;

    /// <summary>Scratch folder for uploads (default the system temp folder).</summary>
    public string? ScratchDirectory { get; set; }

    /// <summary>Items of an evaluation's error gallery (default 50).</summary>
    public int ErrorGallerySize { get; set; } = 50;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxJsonBytes < 1024 || MaxImageBytes < 1024 || MaxUploadBytes < 1024 || MaxExtractedBytes < 1024)
        {
            throw new ArgumentException("DeepPerception:Api size limits must be at least 1024 bytes.");
        }

        if (MaxImagePixels < 1 || MaxZipEntries < 1 || MaxRecords < 1 || MaxCompressionRatio < 1 || ErrorGallerySize < 0)
        {
            throw new ArgumentException("DeepPerception:Api limits must be positive.");
        }
    }
}
