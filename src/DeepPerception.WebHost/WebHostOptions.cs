namespace DeepPerception.WebHost;

/// <summary>Settings of the web host (configuration section <c>DeepPerception:WebHost</c>).</summary>
public sealed class WebHostOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "DeepPerception:WebHost";

    /// <summary>The cluster's client gateway port on localhost (default 30000, the one-process host's).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The Orleans cluster id (default <c>deepperception</c>).</summary>
    public string ClusterId { get; set; } = "deepperception";

    /// <summary>The Orleans service id (default <c>deepperception</c>).</summary>
    public string ServiceId { get; set; } = "deepperception";

    /// <summary>
    /// The artifact store's folder when the cluster uses the file-system store on this machine (default
    /// <c>data/artifacts</c>). Ignored when <see cref="BlobConnectionString"/> is set.
    /// </summary>
    public string ArtifactsDirectory { get; set; } = Path.Combine("data", "artifacts");

    /// <summary>An Azure Blob (or Azurite) connection string for the artifact store, when the cluster uses one.</summary>
    public string? BlobConnectionString { get; set; }

    /// <summary>The blob container of the artifact store (default <c>artifacts</c>).</summary>
    public string BlobContainer { get; set; } = "artifacts";

    /// <summary>
    /// How the client finds the cluster's gateways: <c>localhost</c> (default: <see cref="GatewayPort"/> on this
    /// machine) or <c>azure</c> (the silos' Azure Table membership on <see cref="ClusteringConnectionString"/>, for a web
    /// host in its own container or pod).
    /// </summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>The Azure Table (or Azurite) connection string of <c>azure</c> clustering; defaults to
    /// <see cref="BlobConnectionString"/>.</summary>
    public string? ClusteringConnectionString { get; set; }
}
