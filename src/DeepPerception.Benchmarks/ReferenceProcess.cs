using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace DeepPerception.Benchmarks;

/// <summary>Raised when the PyTorch reference process fails to start or answers with an error.</summary>
public sealed class ReferenceProcessException(string message) : Exception(message);

/// <summary>
/// The PyTorch eager reference (<c>tools/bench/qwen2vl_reference.py</c>) as a child process: one JSON command per line
/// on its stdin, one JSON answer per line on its stdout. Its thread count is fixed by <c>torch.set_num_threads</c> and
/// the OpenMP/OpenBLAS environment variables, and OpenBLAS (openmp variant) is put on its library path.
/// </summary>
public sealed class ReferenceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private ReferenceProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts the reference and waits until it has loaded the checkpoint and inputs.</summary>
    public static ReferenceProcess Start(string python, string script, string modelDir, string inputsDir, int threads, string? blasDir)
    {
        if (!File.Exists(script))
        {
            throw new ReferenceProcessException($"Reference script not found: {script}");
        }

        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-u", script, "--model", modelDir, "--inputs", inputsDir, "--threads", threads.ToString() })
        {
            info.ArgumentList.Add(arg);
        }

        var t = threads.ToString();
        info.Environment["OMP_NUM_THREADS"] = t;
        info.Environment["OPENBLAS_NUM_THREADS"] = t;
        info.Environment["MKL_NUM_THREADS"] = t;
        if (!string.IsNullOrEmpty(blasDir))
        {
            var existing = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            info.Environment["LD_LIBRARY_PATH"] = string.IsNullOrEmpty(existing) ? blasDir : $"{blasDir}:{existing}";
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new ReferenceProcessException($"Could not start {python}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ReferenceProcessException($"Could not start {python}: {e.Message}");
        }

        var reference = new ReferenceProcess(process);
        reference.ReadAnswer("startup");
        return reference;
    }

    /// <summary>Sends one command and returns its answer; throws when the reference reports an error.</summary>
    public JsonObject Call(JsonObject command)
    {
        _process.StandardInput.WriteLine(command.ToJsonString());
        _process.StandardInput.Flush();
        return ReadAnswer(command["op"]?.GetValue<string>() ?? "?");
    }

    private JsonObject ReadAnswer(string what)
    {
        var line = _process.StandardOutput.ReadLine();
        if (line is null)
        {
            _process.WaitForExit(5000);
            throw new ReferenceProcessException($"The PyTorch reference exited during '{what}'. Its stderr:\n{Stderr()}");
        }

        var answer = JsonNode.Parse(line) as JsonObject ?? throw new ReferenceProcessException($"Unexpected reference output: {line}");
        if (answer["ok"]?.GetValue<bool>() != true)
        {
            throw new ReferenceProcessException($"The PyTorch reference failed in '{what}': {answer["error"]}\n{Stderr()}");
        }

        return answer;
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("{\"op\":\"quit\"}");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(10000))
                {
                    _process.Kill();
                }
            }
        }
        catch (IOException)
        {
            // The pipe is already closed: the process is gone.
        }
        finally
        {
            _process.Dispose();
        }
    }
}
