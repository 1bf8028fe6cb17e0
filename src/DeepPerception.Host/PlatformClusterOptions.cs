using System.Net;

namespace DeepPerception.Host;

/// <summary>
/// How the host takes part in a cluster (configuration section <c>DeepPerception</c>, next to
/// <see cref="DeepPerceptionHostOptions"/>). The defaults are the embedded one-process mode: every role, localhost
/// clustering, file grain storage and the file-system artifact store under the data folder.
/// </summary>
public sealed class PlatformClusterOptions
{
    /// <summary>Localhost clustering (one process or several on one machine with a fixed primary).</summary>
    public const string LocalhostClustering = "localhost";

    /// <summary>Azure Table membership (Azurite in tests and compose).</summary>
    public const string AzureClustering = "azure";

    /// <summary>The file-based store (grain state or artifacts) under the data folder.</summary>
    public const string FileStorage = "file";

    /// <summary>Azure Blob storage (grain state or artifacts).</summary>
    public const string AzureStorage = "azure";

    /// <summary>The Orleans service id shared by every silo and client of the platform.</summary>
    public const string ServiceId = "deepperception";

    /// <summary>
    /// The silo's roles: <c>control</c> (tenants, datasets, models, jobs, scheduler, dashboard), <c>gpu</c> (the engine
    /// worker) or both (<c>control,gpu</c> or <c>both</c>, the default).
    /// </summary>
    public string Roles { get; set; } = "control,gpu";

    /// <summary>Cluster membership: <c>localhost</c> (default) or <c>azure</c>.</summary>
    public string Clustering { get; set; } = LocalhostClustering;

    /// <summary>Grain state: <c>file</c> (default) or <c>azure</c> (Azure Blob grain storage).</summary>
    public string GrainStorage { get; set; } = FileStorage;

    /// <summary>The artifact store: <c>file</c> (default) or <c>azure</c> (Azure Blob).</summary>
    public string ArtifactStore { get; set; } = FileStorage;

    /// <summary>
    /// The Azure Storage connection string used by every <c>azure</c> setting (for Azurite e.g.
    /// <c>UseDevelopmentStorage=true</c> or an explicit <c>DefaultEndpointsProtocol=http;…;BlobEndpoint=…;TableEndpoint=…</c>).
    /// </summary>
    public string? AzureStorageConnectionString { get; set; }

    /// <summary>The blob container of grain state (default <c>grainstate</c>).</summary>
    public string GrainStateContainer { get; set; } = "grainstate";

    /// <summary>The blob container of artifacts (default <c>artifacts</c>).</summary>
    public string ArtifactContainer { get; set; } = "artifacts";

    /// <summary>
    /// With <c>azure</c> clustering: the IP address or host name other silos and clients reach this silo at. Empty
    /// (default) means this machine's host name (containers). The silo listens on every address.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>How many GPU work attempts a GPU silo runs at once (default 1).</summary>
    public int MaxConcurrentWork { get; set; } = 1;

    /// <summary>The accelerator's memory in bytes as shown to operators (default 0: unknown).</summary>
    public long DeviceMemoryBytes { get; set; }

    /// <summary>Whether control silos host the Orleans Dashboard under <c>/dashboard</c> (default true).</summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>The scheduler's periodic pass, in seconds (default 5).</summary>
    public double SchedulerPassSeconds { get; set; } = 5;

    /// <summary>How often the scheduler checks that running attempts' workers still run, in seconds (default 30).</summary>
    public double WorkerCheckSeconds { get; set; } = 30;

    /// <summary>How often control silos wake the scheduler, in seconds (default 10).</summary>
    public double SchedulerWatchdogSeconds { get; set; } = 10;

    /// <summary>
    /// Pre-emption by checkpoint: the shortest time, in seconds, lower-priority work runs before higher-priority queued
    /// work may interrupt it (default 600; 0 or less turns pre-emption off).
    /// </summary>
    public double PreemptionMinRunSeconds { get; set; } = 600;

    /// <summary>
    /// Kubernetes hosting (Orleans' <c>UseKubernetesHosting</c>): the silo takes its name, advertised IP, namespace,
    /// cluster and service id from the pod (<c>POD_NAME</c>, <c>POD_IP</c>, <c>POD_NAMESPACE</c>,
    /// <c>ORLEANS_CLUSTER_ID</c>, <c>ORLEANS_SERVICE_ID</c>) and watches the silo pods (labels <c>orleans/serviceId</c>,
    /// <c>orleans/clusterId</c>) so that deleted pods are declared dead at once. Needs <c>azure</c> clustering (the
    /// membership table) and RBAC to get, list, watch and delete pods (deploy/kubernetes). Default false.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>
    /// How long the scheduler holds back work whose attempt met a storage outage, doubled for each consecutive outage up
    /// to <see cref="StorageRetryMaxSeconds"/> (default 30).
    /// </summary>
    public double StorageRetrySeconds { get; set; } = 30;

    /// <summary>The longest hold-back after consecutive storage outages (default 600).</summary>
    public double StorageRetryMaxSeconds { get; set; } = 600;

    /// <summary>Whether the silo hosts control-plane grains.</summary>
    public bool IsControl => ParseRoles().Control;

    /// <summary>Whether the silo runs GPU work.</summary>
    public bool IsGpu => ParseRoles().Gpu;

    /// <summary>Whether membership is Azure Table clustering.</summary>
    public bool IsAzureClustering => string.Equals(Clustering, AzureClustering, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether grain state goes to Azure Blob storage.</summary>
    public bool IsAzureGrainStorage => string.Equals(GrainStorage, AzureStorage, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether artifacts go to Azure Blob storage.</summary>
    public bool IsAzureArtifactStore => string.Equals(ArtifactStore, AzureStorage, StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks the settings.</summary>
    /// <exception cref="InvalidPlatformConfigurationException">A setting is not valid; the message names it.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        try
        {
            ParseRoles();
        }
        catch (InvalidPlatformConfigurationException ex)
        {
            errors.Add(ex.Message);
        }

        Check(errors, nameof(Clustering), Clustering, LocalhostClustering, AzureClustering);
        Check(errors, nameof(GrainStorage), GrainStorage, FileStorage, AzureStorage);
        Check(errors, nameof(ArtifactStore), ArtifactStore, FileStorage, AzureStorage);
        if ((IsAzureClustering || IsAzureGrainStorage || IsAzureArtifactStore) && string.IsNullOrWhiteSpace(AzureStorageConnectionString))
        {
            errors.Add($"DeepPerception:{nameof(AzureStorageConnectionString)} is required when {nameof(Clustering)}, " +
                       $"{nameof(GrainStorage)} or {nameof(ArtifactStore)} is 'azure'.");
        }

        if (Kubernetes && !IsAzureClustering)
        {
            errors.Add($"DeepPerception:{nameof(Kubernetes)}=true needs {nameof(Clustering)}=azure (Kubernetes hosting " +
                       "complements a membership table; it is not one).");
        }

        if (!(StorageRetrySeconds >= 0) || !(StorageRetryMaxSeconds >= StorageRetrySeconds) || double.IsInfinity(StorageRetryMaxSeconds))
        {
            errors.Add($"DeepPerception:{nameof(StorageRetrySeconds)} ({StorageRetrySeconds}) must be at least 0 and at most " +
                       $"{nameof(StorageRetryMaxSeconds)} ({StorageRetryMaxSeconds}).");
        }

        if (MaxConcurrentWork < 1)
        {
            errors.Add($"DeepPerception:{nameof(MaxConcurrentWork)} must be at least 1 (got {MaxConcurrentWork}).");
        }

        foreach (var (name, value) in new[]
                 {
                     (nameof(SchedulerPassSeconds), SchedulerPassSeconds), (nameof(WorkerCheckSeconds), WorkerCheckSeconds),
                     (nameof(SchedulerWatchdogSeconds), SchedulerWatchdogSeconds),
                 })
        {
            if (!(value > 0) || double.IsInfinity(value))
            {
                errors.Add($"DeepPerception:{name} must be a positive number of seconds (got {value}).");
            }
        }

        if (double.IsNaN(PreemptionMinRunSeconds))
        {
            errors.Add($"DeepPerception:{nameof(PreemptionMinRunSeconds)} must be a number.");
        }

        if (errors.Count > 0)
        {
            throw new InvalidPlatformConfigurationException(string.Join(" ", errors));
        }
    }

    /// <summary>The advertised IP address when <see cref="AdvertisedAddress"/> is an IP literal, else null.</summary>
    public IPAddress? AdvertisedIPAddress =>
        !string.IsNullOrWhiteSpace(AdvertisedAddress) && IPAddress.TryParse(AdvertisedAddress, out var ip) ? ip : null;

    private (bool Control, bool Gpu) ParseRoles()
    {
        var value = Roles?.Trim() ?? string.Empty;
        if (value.Equals("both", StringComparison.OrdinalIgnoreCase))
        {
            return (true, true);
        }

        var parts = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var control = false;
        var gpu = false;
        foreach (var part in parts)
        {
            if (part.Equals("control", StringComparison.OrdinalIgnoreCase))
            {
                control = true;
            }
            else if (part.Equals("gpu", StringComparison.OrdinalIgnoreCase))
            {
                gpu = true;
            }
            else
            {
                throw new InvalidPlatformConfigurationException(
                    $"DeepPerception:{nameof(Roles)} has an unknown role '{part}' (use control, gpu, control,gpu or both).");
            }
        }

        if (!control && !gpu)
        {
            throw new InvalidPlatformConfigurationException(
                $"DeepPerception:{nameof(Roles)} '{Roles}' names no role (use control, gpu, control,gpu or both).");
        }

        return (control, gpu);
    }

    private static void Check(List<string> errors, string name, string? value, params string[] allowed)
    {
        if (value is null || !allowed.Contains(value, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"DeepPerception:{name} '{value}' is not one of: {string.Join(", ", allowed)}.");
        }
    }
}

/// <summary>The host's configuration is not valid.</summary>
public sealed class InvalidPlatformConfigurationException(string message) : Exception(message);
