using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace DeepPerception.Cluster.Tests.Infrastructure;

/// <summary>
/// One process of the real host executable (<c>dotnet DeepPerception.Host.dll</c>) in cluster mode, configured through
/// environment variables: Azure Table clustering, Azure Blob grain storage and artifact store on the given emulator,
/// free loopback ports, a data folder of its own, the CPU device and short scheduler and membership intervals.
/// Its output is kept for diagnostics; <see cref="Kill"/> sends SIGKILL.
/// </summary>
public sealed class HostProcess : ChildProcess
{
    private HostProcess(string name, Process process, int httpPort, int siloPort)
        : base(process)
    {
        Name = name;
        HttpPort = httpPort;
        SiloPort = siloPort;
    }

    /// <summary>A name for diagnostics.</summary>
    public string Name { get; }

    /// <summary>The HTTP port (health, status, dashboard).</summary>
    public int HttpPort { get; }

    /// <summary>The silo-to-silo port; a silo id ("127.0.0.1:port@generation") names it.</summary>
    public int SiloPort { get; }

    /// <summary>The base address of the HTTP endpoints.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    /// <summary>The operating system's process id.</summary>
    public int ProcessId => Process.Id;

    /// <summary>Waits until the process exits.</summary>
    /// <exception cref="TimeoutException">It did not exit in time; the message carries its last output.</exception>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await Process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Host process {Name} did not exit within {timeout.TotalSeconds} s:\n{Tail()}");
        }
    }

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => Process.HasExited;

    /// <summary>Whether a silo id names this process's silo.</summary>
    public bool Owns(string? siloId) =>
        siloId is not null && siloId.StartsWith($"127.0.0.1:{SiloPort}@", StringComparison.Ordinal);

    /// <summary>Starts a host process.</summary>
    /// <param name="name">A name for diagnostics.</param>
    /// <param name="roles">control, gpu or control,gpu.</param>
    /// <param name="clusterId">The cluster id (unique per test).</param>
    /// <param name="connectionString">The storage emulator's connection string.</param>
    /// <param name="dataDirectory">The process's own data folder.</param>
    /// <param name="extra">More settings (configuration keys with ':' separators).</param>
    public static HostProcess Start(string name, string roles, string clusterId, string connectionString, string dataDirectory,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var host = Paths.HostAssembly;
        var (http, silo, gateway) = (Paths.FreePort(), Paths.FreePort(), Paths.FreePort());
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(host)!,
        };
        startInfo.ArgumentList.Add(host);
        var settings = new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{http}",
            ["Logging:Console:FormatterName"] = "simple",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:DeepPerception"] = "Information",
            ["OpenTelemetry:OtlpEndpoint"] = string.Empty,
            ["DeepPerception:Roles"] = roles,
            ["DeepPerception:Clustering"] = "azure",
            ["DeepPerception:GrainStorage"] = "azure",
            ["DeepPerception:ArtifactStore"] = "azure",
            ["DeepPerception:AzureStorageConnectionString"] = connectionString,
            ["DeepPerception:ClusterId"] = clusterId,
            ["DeepPerception:AdvertisedAddress"] = "127.0.0.1",
            ["DeepPerception:SiloPort"] = silo.ToString(CultureInfo.InvariantCulture),
            ["DeepPerception:GatewayPort"] = gateway.ToString(CultureInfo.InvariantCulture),
            ["DeepPerception:DataDirectory"] = dataDirectory,
            ["DeepPerception:SeedDemo"] = "false",
            ["DeepPerception:Device"] = "cpu",
            ["DeepPerception:SchedulerPassSeconds"] = "0.5",
            ["DeepPerception:SchedulerWatchdogSeconds"] = "1",
            ["DeepPerception:WorkerCheckSeconds"] = "2",
            // Fast failure detection on loopback: a killed silo is declared dead within a few seconds.
            ["DeepPerception:Membership:ProbeTimeout"] = "00:00:01",
            ["DeepPerception:Membership:NumMissedProbesLimit"] = "2",
            ["DeepPerception:Membership:IAmAliveTablePublishTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        foreach (var (key, value) in settings)
        {
            startInfo.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        startInfo.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start the host process {name}.");
        var handle = new HostProcess(name, process, http, silo);
        handle.CaptureOutput();
        return handle;
    }

    /// <summary>Waits until <paramref name="path"/> answers 200 (a generous guard against hanging, not a timing assertion).</summary>
    public async Task WaitForHttpAsync(string path, int seconds = 120)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var last = "no answer";
        while (true)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"Host process {Name} exited with code {Process.ExitCode} while waiting for {path}:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(path);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.Message;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Host process {Name}: {path} did not answer 200 within {seconds} s (last: {last}):\n{Tail()}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Kills the process at once (SIGKILL), as a crashed machine would stop.</summary>
    public void Kill()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }
    }

    /// <summary>The last lines of the process's output.</summary>
    public string Tail(int lines = 60)
    {
        var all = Output().Split('\n');
        return $"--- {Name} (silo port {SiloPort}, http {HttpPort}) ---\n" + string.Join('\n', all.TakeLast(lines));
    }
}
