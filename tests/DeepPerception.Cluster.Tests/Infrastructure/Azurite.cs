using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DeepPerception.Cluster.Tests.Infrastructure;

/// <summary>
/// The Azurite storage emulator from <c>tests/fixtures/npm/node_modules/.bin/azurite</c> on free loopback ports (blob,
/// queue and table; in-memory, no telemetry). A missing emulator fails the test with a message saying how to install
/// it; it is never skipped.
/// </summary>
public sealed class Azurite : ChildProcess
{
    /// <summary>Azurite's documented development account key (public, emulator only).</summary>
    private const string DevAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private Azurite(Process process, int blobPort, int tablePort)
        : base(process)
    {
        BlobPort = blobPort;
        TablePort = tablePort;
    }

    /// <summary>The blob endpoint's port.</summary>
    public int BlobPort { get; }

    /// <summary>The table endpoint's port.</summary>
    public int TablePort { get; }

    /// <summary>A connection string for the emulator's blob and table endpoints.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    /// <summary>Starts the emulator and waits until blob and table endpoints listen.</summary>
    public static async Task<Azurite> StartAsync()
    {
        var executable = Path.Combine(Paths.RepositoryRoot, "tests", "fixtures", "npm", "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"The Azurite storage emulator is missing ({executable}). Install it with `npm ci` in tests/fixtures/npm " +
                "(tools/test.sh does this); the multi-process cluster tests cannot run without it.");
        }

        var (blob, queue, table) = (Paths.FreePort(), Paths.FreePort(), Paths.FreePort());
        var startInfo = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in new[]
                 {
                     "--inMemoryPersistence", "--disableTelemetry", "--silent",
                     "--blobHost", "127.0.0.1", "--blobPort", blob.ToString(),
                     "--queueHost", "127.0.0.1", "--queuePort", queue.ToString(),
                     "--tableHost", "127.0.0.1", "--tablePort", table.ToString(),
                 })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start Azurite from {executable}.");
        var azurite = new Azurite(process, blob, table);
        azurite.CaptureOutput();

        // A guard against hanging forever, not a timing assertion: Azurite listens within seconds.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!(await Paths.CanConnectAsync(blob) && await Paths.CanConnectAsync(table)))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} before listening: {azurite.Output()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                await azurite.DisposeAsync();
                throw new InvalidOperationException($"Azurite did not listen on ports {blob}/{table} within 90 s: {azurite.Output()}");
            }

            await Task.Delay(100);
        }

        return azurite;
    }
}
