using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Thynapse.ProcessKit;

/// <summary>
/// A real child process, for fault tests and the bench: its output and error lines are kept for bounded waits, lines
/// can be written to its input, it can be signalled (SIGTERM, SIGSTOP, SIGKILL) by PID, and killing or disposing it
/// ends it and anything it started. Every child not yet killed is known to <see cref="KillAll"/>, for a host that must
/// leave none behind however it ends.
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

    /// <summary>How long a kill, or the end of the output, waits for the process to be gone.</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(5);

    private static readonly ConcurrentDictionary<ChildProcess, byte> Alive = new();

    private readonly Process _process;
    private readonly int? _keptLines;
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _lineKept = NewSignal();
    private int _killed;
    private int _disposed;

    private ChildProcess(Process process, ChildProcessOptions options)
    {
        _process = process;
        _keptLines = options.KeptLines;
        Id = process.Id;
        Alive[this] = 0;
        var output = Task.Run(() => ReadAsync(process.StandardOutput, options.TakeOutputLine));
        var error = Task.Run(() => ReadAsync(process.StandardError, take: null));
        OutputEnded = EndAsync(output, error);
    }

    /// <summary>The process id.</summary>
    public int Id { get; }

    /// <summary>The output and error lines kept so far (all of them, or the latest <see cref="ChildProcessOptions.KeptLines"/>).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code (after <see cref="HasExited"/>).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>
    /// Completes once the process has closed its output and error, and has exited (or still runs 5 s later): every line
    /// it wrote has been read by then.
    /// </summary>
    public Task OutputEnded { get; }

    /// <summary>Starts a process as <paramref name="options"/> say.</summary>
    public static ChildProcess Start(ChildProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var info = new ProcessStartInfo(options.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in options.Arguments)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in options.EnvironmentDefaults ?? new Dictionary<string, string>())
        {
            if (Environment.GetEnvironmentVariable(name) is null)
            {
                info.Environment[name] = value;
            }
        }

        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {options.FileName}.");
        return new ChildProcess(process, options);
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="args"/>.</summary>
    public static ChildProcess Start(string fileName, params string[] args) => Start(fileName, null, args);

    /// <summary>Starts <paramref name="fileName"/> with extra environment variables and <paramref name="args"/>.</summary>
    public static ChildProcess Start(string fileName, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Start(new ChildProcessOptions { FileName = fileName, Arguments = args, Environment = environment });

    /// <summary>Starts <c>dotnet &lt;assembly&gt; args</c> with an assembly that sits next to this program's.</summary>
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

    /// <summary>Kills every child started here and not killed yet (by PID, with what it started).</summary>
    public static void KillAll()
    {
        foreach (var child in Alive.Keys)
        {
            child.Kill();
        }
    }

    /// <summary>
    /// Waits (bounded) for a kept line containing <paramref name="text"/>, and returns it; fails at once, with the
    /// output, if the process ends without printing one.
    /// </summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            string? found;
            Task kept;
            lock (_gate)
            {
                found = _lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
                kept = _lineKept.Task;
            }

            if (found is not null)
            {
                return found;
            }

            if (OutputEnded.IsCompleted && _process.HasExited)
            {
                throw new InvalidOperationException($"Process {Id} exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            }

            var left = limit - watch.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting until process {Id} prints a line with '{text}'.\nOutput so far:\n{Output}");
            }

            try
            {
                await (OutputEnded.IsCompleted ? kept : Task.WhenAny(kept, OutputEnded)).WaitAsync(left, cancellationToken);
            }
            catch (TimeoutException)
            {
                // The next round says so, with the output.
            }
        }
    }

    /// <summary>Waits (bounded) for the process to exit and its output to be read, and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
            await OutputEnded.WaitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Process {Id} did not exit within {timeout.TotalSeconds:0.#} s.\nOutput:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Waits (bounded) for the process to exit; true if it has (or is gone).</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        try
        {
            return _process.WaitForExit(timeout);
        }
        catch (InvalidOperationException)
        {
            return true;
        }
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

    /// <summary>Kills the process and anything it started, if it still runs, and waits (bounded) for it (idempotent).</summary>
    public void Kill()
    {
        if (Interlocked.Exchange(ref _killed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(ExitGrace);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (Win32Exception)
        {
            // Gone between the check and the kill.
        }

        Alive.TryRemove(this, out _);
    }

    /// <summary>Kills the process if it still runs (idempotent).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        _process.Dispose();
    }

    private string Output => string.Join('\n', Lines);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task ReadAsync(StreamReader reader, Func<string, bool>? take)
    {
        try
        {
            string? line;
            while ((line = await reader.ReadLineAsync()) is not null)
            {
                if (take?.Invoke(line) != true)
                {
                    Keep(line);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Disposed while reading: there is nothing more to read.
        }
    }

    private async Task EndAsync(Task output, Task error)
    {
        try
        {
            await Task.WhenAll(output, error);
            using var grace = new CancellationTokenSource(ExitGrace);
            await _process.WaitForExitAsync(grace.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
        {
            // Still running after its output closed, or disposed: the output has ended either way.
        }
    }

    /// <summary>Keeps <paramref name="line"/> and wakes whoever waits for a line.</summary>
    private void Keep(string line)
    {
        TaskCompletionSource kept;
        lock (_gate)
        {
            _lines.Enqueue(line);
            while (_keptLines is { } most && _lines.Count > most)
            {
                _lines.Dequeue();
            }

            kept = _lineKept;
            _lineKept = NewSignal();
        }

        kept.TrySetResult();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
