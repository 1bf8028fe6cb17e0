using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DeepPerception.Tests.Shared;

/// <summary>
/// Starts the Azurite storage emulator from <c>tests/fixtures/npm/node_modules/.bin/azurite</c> on free loopback ports
/// (blob, queue and table; in-memory, no telemetry) and kills it when the tests are done. A missing emulator fails the
/// tests with a message saying how to install it; it is never skipped. <see cref="StopAsync"/> and
/// <see cref="StartAsync"/> take the emulator down and bring it back on the same ports (a storage outage); with
/// <see cref="Persistent"/> its data lives in a temporary folder and survives the restart. Used as an xUnit fixture
/// (<see cref="IAsyncLifetime"/>) or started and disposed by a test (<see cref="StartNewAsync"/>). Shared by the test
/// projects that need Azure storage (linked source: <c>tests/Shared</c>).
/// </summary>
public class AzuriteEmulator : IAsyncLifetime, IAsyncDisposable
{
    /// <summary>Azurite's documented development account key (public, emulator only).</summary>
    private const string DevAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly StringBuilder _output = new();
    private Process? _process;
    private string? _location;
    private int _queuePort;

    /// <summary>Whether the data survives a restart (kept on disk instead of in memory).</summary>
    protected virtual bool Persistent => false;

    /// <summary>The blob endpoint's port.</summary>
    public int BlobPort { get; private set; }

    /// <summary>The table endpoint's port.</summary>
    public int TablePort { get; private set; }

    /// <summary>A connection string for the emulator's blob and table endpoints.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    /// <summary>Starts an in-memory emulator for one test; dispose it when done.</summary>
    public static async Task<AzuriteEmulator> StartNewAsync()
    {
        var emulator = new AzuriteEmulator();
        await emulator.InitializeAsync();
        return emulator;
    }

    /// <inheritdoc />
    public Task InitializeAsync()
    {
        BlobPort = FreePort();
        _queuePort = FreePort();
        TablePort = FreePort();
        if (Persistent)
        {
            _location = Path.Combine(Path.GetTempPath(), "dp-azurite-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_location);
        }

        return StartAsync();
    }

    /// <summary>Starts the emulator on this instance's ports and waits until its blob and table endpoints accept connections.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            return;
        }

        _process?.Dispose();
        var executable = FindAzurite();
        var startInfo = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        var arguments = _location is null ? new List<string> { "--inMemoryPersistence" } : ["--location", _location];
        arguments.AddRange(
        [
            "--disableTelemetry", "--silent",
            "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(),
            "--queueHost", "127.0.0.1", "--queuePort", _queuePort.ToString(),
            "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(),
        ]);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        _process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start Azurite from {executable}.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"Azurite exited with code {_process.ExitCode} before listening on ports {BlobPort}/{TablePort}: {Output()}");
            }

            if (await CanConnectAsync(BlobPort) && await CanConnectAsync(TablePort))
            {
                return;
            }

            // A guard against hanging forever, not a timing assertion: Azurite listens within seconds.
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Azurite did not listen on ports {BlobPort}/{TablePort} within 90 s: {Output()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Stops the emulator (its ports refuse connections until <see cref="StartAsync"/>). A persistent emulator gets
    /// SIGTERM so that it saves its metadata before it exits; an in-memory one is killed.
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false })
        {
            return;
        }

        if (Persistent)
        {
            using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString()]) { UseShellExecute = false })
                             ?? throw new InvalidOperationException("Could not run kill.");
            await term.WaitForExitAsync();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
                return;
            }
            catch (OperationCanceledException)
            {
                // Fall through to a hard kill.
            }
        }

        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <inheritdoc />
    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        if (_location is not null && Directory.Exists(_location))
        {
            Directory.Delete(_location, recursive: true);
        }
    }

    private static string FindAzurite()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DeepPerception.sln")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new InvalidOperationException(
                $"Cannot find the repository root (DeepPerception.sln) above {AppContext.BaseDirectory}.");
        }

        var path = Path.Combine(directory.FullName, "tests", "fixtures", "npm", "node_modules", ".bin", "azurite");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The Azurite storage emulator is missing ({path}). Install it with `npm ci` in tests/fixtures/npm " +
                "(tools/test.sh does this); the tests that need Azure storage cannot run without it.");
        }

        return path;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> CanConnectAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }
}
