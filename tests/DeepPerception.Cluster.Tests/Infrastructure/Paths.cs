using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace DeepPerception.Cluster.Tests.Infrastructure;

/// <summary>Where things are on this machine, and free loopback ports.</summary>
public static class Paths
{
    /// <summary>The repository root (the folder holding DeepPerception.sln).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>
    /// The host executable's assembly in its own build output (same configuration as these tests), which the project
    /// reference builds first.
    /// </summary>
    public static string HostAssembly
    {
        get
        {
            var configuration = typeof(Paths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var path = Path.Combine(RepositoryRoot, "src", "DeepPerception.Host", "bin", configuration, "net10.0", "linux-x64",
                "DeepPerception.Host.dll");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"The host executable is not built ({path}); build src/DeepPerception.Host first.");
        }
    }

    /// <summary>Returns a loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DeepPerception.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName
               ?? throw new InvalidOperationException($"Cannot find the repository root (DeepPerception.sln) above {AppContext.BaseDirectory}.");
    }
}
