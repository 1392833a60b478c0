using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Thynapse.TestKit;

/// <summary>
/// A real child process for fault tests: its output lines are kept for bounded waits, and it can be signalled
/// (SIGTERM, SIGSTOP, SIGKILL) by PID. Disposing kills it if it still runs.
/// </summary>
public sealed partial class ChildProcess : IDisposable
{
    /// <summary>SIGKILL.</summary>
    public const int SigKill = 9;

    /// <summary>SIGTERM.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGCONT.</summary>
    public const int SigCont = 18;

    /// <summary>SIGSTOP.</summary>
    public const int SigStop = 19;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private int _disposed;

    private ChildProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Output and error lines so far.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code (after <see cref="HasExited"/>).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <c>dotnet &lt;assembly&gt; args</c> with an assembly that sits next to the test assembly.</summary>
    public static ChildProcess StartDotnet(string assemblyFileName, params string[] args) => StartDotnet(assemblyFileName, null, args);

    /// <summary>Starts <c>dotnet &lt;assembly&gt; args</c> with extra environment variables.</summary>
    public static ChildProcess StartDotnet(string assemblyFileName, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var path = Path.Combine(AppContext.BaseDirectory, assemblyFileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{assemblyFileName} is not next to the tests (is the project referenced?)", path);
        }

        return Start("dotnet", environment, [path, .. args]);
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="args"/>.</summary>
    public static ChildProcess Start(string fileName, params string[] args) => Start(fileName, null, args);

    /// <summary>Starts <paramref name="fileName"/> with extra environment variables and <paramref name="args"/>.</summary>
    public static ChildProcess Start(string fileName, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}."));
    }

    /// <summary>Waits (bounded) for an output line containing <paramref name="text"/>, and returns it.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        string? found = null;
        try
        {
            await Eventually.That($"process {Id} prints a line with '{text}'", () =>
            {
                found = _lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
                if (found is null && _process.HasExited)
                {
                    throw new InvalidOperationException($"Process {Id} exited ({_process.ExitCode}) before printing '{text}':\n{string.Join('\n', _lines)}");
                }

                return found is not null;
            }, timeout ?? TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\nOutput so far:\n{string.Join('\n', _lines)}", ex);
        }

        return found!;
    }

    /// <summary>Waits (bounded) for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Process {Id} did not exit within {timeout.TotalSeconds:0.#} s.\nOutput:\n{string.Join('\n', _lines)}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends a signal to the process.</summary>
    public void Signal(int signal)
    {
        if (Kill(Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Writes a line to the process's standard input.</summary>
    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Closes the process's standard input: it reads end-of-file.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Kills the process if it still runs (idempotent).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
