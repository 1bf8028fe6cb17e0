using System.Diagnostics;
using System.Text;

namespace DeepPerception.Cluster.Tests.Infrastructure;

/// <summary>A process a test started: its output is kept for diagnostics and disposing kills its whole tree.</summary>
public abstract class ChildProcess(Process process) : IAsyncDisposable
{
    private readonly StringBuilder _output = new();

    /// <summary>The process.</summary>
    protected Process Process { get; } = process;

    /// <summary>Everything the process wrote so far.</summary>
    protected string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    /// <summary>Keeps one line of the process's output (standard output and error handlers call this).</summary>
    protected void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>Starts reading the process's standard output and error into <see cref="Output"/>.</summary>
    protected void CaptureOutput()
    {
        Process.OutputDataReceived += (_, e) => Append(e.Data);
        Process.ErrorDataReceived += (_, e) => Append(e.Data);
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
        GC.SuppressFinalize(this);
    }
}
