using System.Diagnostics.Metrics;

namespace DeepPerception.Storage.Resilience;

/// <summary>
/// The storage instruments of the platform's "DeepPerception" meter (the storage library does not reference the
/// platform's grain assemblies, so it creates its own <see cref="Meter"/> of the same name; listeners and the
/// OpenTelemetry <c>AddMeter("DeepPerception")</c> registration see both).
/// </summary>
public static class StorageMetrics
{
    /// <summary>The meter name shared by all platform instruments.</summary>
    public const string MeterName = "DeepPerception";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Retries of artifact-store operations after a transient failure (tag <c>operation</c>).</summary>
    public static readonly Counter<long> Retries = Meter.CreateCounter<long>("deepperception.storage.retries", "{retry}",
        "Artifact-store operations retried after a transient failure.");

    /// <summary>Artifact-store operations that stayed unavailable after every retry (tag <c>operation</c>).</summary>
    public static readonly Counter<long> Outages = Meter.CreateCounter<long>("deepperception.storage.outages", "{operation}",
        "Artifact-store operations that failed after all retries (storage unavailable).");
}
