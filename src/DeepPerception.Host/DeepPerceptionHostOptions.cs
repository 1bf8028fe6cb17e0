namespace DeepPerception.Host;

/// <summary>Settings of the one-process host (configuration section <c>DeepPerception</c>).</summary>
public sealed class DeepPerceptionHostOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "DeepPerception";

    /// <summary>
    /// Where everything durable lives (relative paths are resolved against the working directory): <c>artifacts/</c>
    /// (the artifact store), <c>grains/</c> (grain state) and <c>work/</c> (the GPU worker's scratch space). Default <c>data</c>.
    /// </summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Whether a demo tenant with a KVG-Synth dataset and a tiny base model is created at first start (default true).</summary>
    public bool SeedDemo { get; set; } = true;

    /// <summary>The engine device: <c>auto</c>, <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>The silo-to-silo port on localhost (default 11111).</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The client gateway port on localhost (default 30000).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The Orleans cluster id (default <c>deepperception</c>).</summary>
    public string ClusterId { get; set; } = "deepperception";

    /// <summary>Demo dataset size (training samples, default 32).</summary>
    public int DemoSamples { get; set; } = 32;

    /// <summary>Ground requests generated together in one dynamic batch (1 turns batching off; default 8).</summary>
    public int ServingMaxBatchSize { get; set; } = 8;

    /// <summary>How long the oldest waiting ground request waits for companions, in milliseconds (default 10).</summary>
    public double ServingMaxWaitMs { get; set; } = 10;

    /// <summary>Whether the batch wait adapts to the load (default true: a lone request starts at once).</summary>
    public bool ServingAdaptiveWait { get; set; } = true;

    /// <summary>The image processor's max_pixels when serving (default 401408, the paper's training resolution).</summary>
    public int ServingMaxPixels { get; set; } = 401408;

    /// <summary>The full path of <see cref="DataDirectory"/>.</summary>
    public string DataRoot => Path.GetFullPath(DataDirectory);

    /// <summary>The artifact store's folder.</summary>
    public string ArtifactsDirectory => Path.Combine(DataRoot, "artifacts");

    /// <summary>The grain state folder.</summary>
    public string GrainsDirectory => Path.Combine(DataRoot, "grains");

    /// <summary>The GPU worker's scratch folder.</summary>
    public string WorkDirectory => Path.Combine(DataRoot, "work");
}
