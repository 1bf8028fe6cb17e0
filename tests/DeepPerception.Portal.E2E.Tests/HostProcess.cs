using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DeepPerception.Portal.E2E.Tests;

/// <summary>
/// The one-process host started as a real process on loopback with a temporary data folder, free ports and a pinned
/// platform-admin key; its output is kept for failure messages.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private HostProcess(Process process, string baseUrl, string dataDirectory, string adminKey)
    {
        _process = process;
        BaseUrl = baseUrl;
        DataDirectory = dataDirectory;
        AdminKey = adminKey;
    }

    /// <summary>The portal's address, e.g. http://127.0.0.1:41234.</summary>
    public string BaseUrl { get; }

    /// <summary>The host's data folder (deleted on dispose).</summary>
    public string DataDirectory { get; }

    /// <summary>The platform-admin API key the host was started with.</summary>
    public string AdminKey { get; }

    /// <summary>The host's output so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts the host built next to this test project and waits until <c>/health/ready</c> answers 200.</summary>
    public static async Task<HostProcess> StartAsync(TimeSpan readyTimeout)
    {
        var dll = FindHostDll();
        var data = Path.Combine(Path.GetTempPath(), $"dp-portal-e2e-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        var adminKey = $"dpk_platform_e2eadmin_{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}";
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--urls", $"http://127.0.0.1:{port}" },
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DeepPerception__DataDirectory"] = data;
        start.Environment["DeepPerception__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["DeepPerception__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["DeepPerception__ClusterId"] = "e2e-" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["DeepPerception__DemoSamples"] = "8";
        start.Environment["DeepPerception__Device"] = "cpu";
        start.Environment["DeepPerception__Api__BootstrapAdminKey"] = adminKey;
        start.Environment["OMP_NUM_THREADS"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("The host process did not start.");
        var host = new HostProcess(process, $"http://127.0.0.1:{port}", data, adminKey);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await host.WaitUntilReadyAsync(readyTimeout);
        return host;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with code {_process.ExitCode}:\n{Tail()}");
            }

            try
            {
                if ((await client.GetAsync(BaseUrl + "/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"The host was not ready within {timeout}:\n{Tail()}");
    }

    /// <summary>The last lines of the host's output.</summary>
    public string Tail(int lines = 40) => string.Join('\n', Log.Split('\n').TakeLast(lines));

    private static string FindHostDll()
    {
        // tests/DeepPerception.Portal.E2E.Tests/bin/{Configuration}/net10.0/linux-x64/ → src/DeepPerception.Host/bin/{Configuration}/net10.0/linux-x64/
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var rid = output.Name;
        var tfm = output.Parent!.Name;
        var configuration = output.Parent.Parent!.Name;
        var repo = output.Parent.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(repo, "src", "DeepPerception.Host", "bin", configuration, tfm, rid, "DeepPerception.Host.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the host first: {dll} does not exist.", dll);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
