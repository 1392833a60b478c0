using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Thynapse.ProcessKit;

namespace Thynapse.Bench;

/// <summary>
/// A child process started by the orchestrator: a role of this same executable, or nats-server. Its stdout JSON
/// lines are sorted by <c>type</c> for <see cref="WaitAsync"/>; its stderr is kept (last lines) for diagnosis.
/// </summary>
internal sealed class RoleProcess : IDisposable
{
    private const int StderrLines = 40;

    private readonly ChildProcess _process;
    private readonly ConcurrentDictionary<string, Channel<JsonObject>> _byType = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RoleProcess(string name, ChildProcessOptions options)
    {
        Name = name;
        // Typed JSON lines are taken for WaitAsync; the others, and stderr, are kept (the last lines) for StderrTail.
        _process = ChildProcess.Start(options with { KeptLines = StderrLines, TakeOutputLine = Take });
        _ = _process.OutputEnded.ContinueWith(
            _ => _failed.TrySetResult(new RoleFailedException($"exited (code {(_process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")})")),
            TaskScheduler.Default);
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The runtime's gen0 budget knob (an environment variable only; no runtimeconfig property reads it).</summary>
    public const string Gen0SizeVariable = "DOTNET_GCgen0size";

    /// <summary>64 MiB, in the hexadecimal the runtime expects.</summary>
    public const string DefaultGen0Size = "0x4000000";

    /// <summary>
    /// The tiered JIT's wait, after the last tier-0 compilation, before it starts counting calls towards optimized code
    /// (100 ms by default; an environment variable only).
    /// </summary>
    public const string CallCountingDelayVariable = "DOTNET_TC_CallCountingDelayMs";

    /// <summary>Runs socket completions on the runtime's epoll thread instead of queueing them to the thread pool (Unix only).</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Runtime knobs every role, of either system, runs with unless the caller set them (bench/README.md, "Runtime knobs").
    /// Gen0 of 64 MiB: this VM hides the CPU's cache size, from which .NET sizes gen0; with its fallback a receiving cell
    /// spends most of its time faulting in fresh pages for the frames it keeps. No call-counting delay: six busy .NET
    /// processes on two cores keep compiling new tier-0 code now and then, and each compilation restarts the delay, so
    /// hot methods stayed in unoptimized or instrumented code through most of a run's first seconds.
    /// </summary>
    private static readonly (string Name, string Value)[] RoleRuntimeKnobs =
    [
        (Gen0SizeVariable, DefaultGen0Size),
        (CallCountingDelayVariable, "0"),
    ];

    /// <summary>
    /// Roles whose process holds hundreds of connections (one per cell); the others hold a few. Processes with a few
    /// get inline socket completions: NetMQ's I/O then completes on the epoll thread and goes straight to NetMQ's I/O
    /// thread, instead of waking a thread-pool worker in between (which then spins). With hundreds of cells in a process,
    /// the one epoll thread doing every hand-off itself was slower than the pool (bench/README.md, "Runtime knobs").
    /// The NATS roles use blocking sockets, which the switch does not touch.
    /// </summary>
    private static readonly HashSet<string> ManyConnectionRoles = ["t-meta", "t-idle", "n-meta", "n-idle"];

    /// <summary>Starts a role of this executable: <c>dotnet &lt;this dll&gt; --role <paramref name="role"/> args…</c>.</summary>
    public static RoleProcess StartRole(string name, string role, IEnumerable<string> args)
    {
        var (fileName, prefix) = SelfCommand.Value;
        (string, string)[] inline = ManyConnectionRoles.Contains(role) ? [] : [(InlineCompletionsVariable, "1")];
        return Start(name, fileName, [.. prefix, "--role", role, .. args], inline);
    }

    /// <summary>Starts any executable with redirected stdio (and <paramref name="knobs"/> beyond the runtime knobs).</summary>
    public static RoleProcess Start(string name, string fileName, IEnumerable<string> args, IEnumerable<(string Name, string Value)>? knobs = null) =>
        new(name, new ChildProcessOptions
        {
            FileName = fileName,
            Arguments = [.. args],
            EnvironmentDefaults = RoleRuntimeKnobs.Concat(knobs ?? []).ToDictionary(k => k.Name, k => k.Value),
        });

    /// <summary>The next message of <paramref name="type"/>; fails if the role reports an error, exits, or times out.</summary>
    public async Task<JsonObject> WaitAsync(string type, TimeSpan timeout)
    {
        var channel = _byType.GetOrAdd(type, _ => Channel.CreateUnbounded<JsonObject>());
        using var cts = new CancellationTokenSource(timeout);
        var read = channel.Reader.ReadAsync(cts.Token).AsTask();
        var first = await Task.WhenAny(read, _failed.Task);
        if (first == read && read.IsCompletedSuccessfully)
        {
            return read.Result;
        }

        if (channel.Reader.TryRead(out var late))
        {
            return late; // it arrived together with the exit
        }

        if (_failed.Task.IsCompleted)
        {
            await cts.CancelAsync();
            throw new RoleFailedException($"{Name} failed while waiting for '{type}': {_failed.Task.Result.Message}{StderrTail()}");
        }

        throw new TimeoutException($"{Name}: no '{type}' within {timeout.TotalSeconds:0.#} s{StderrTail()}");
    }

    /// <summary>Sends a command line and waits for the answer of <paramref name="replyType"/>.</summary>
    public async Task<JsonObject> AskAsync(string command, string replyType, TimeSpan timeout)
    {
        Send(command);
        return await WaitAsync(replyType, timeout);
    }

    public void Send(string command)
    {
        try
        {
            _process.WriteLine(command);
        }
        catch (IOException ex)
        {
            _failed.TrySetResult(ex);
        }
    }

    public string StderrTail()
    {
        var lines = _process.Lines;
        return lines.Count == 0 ? "" : $"\n    [{Name} stderr]\n    " + string.Join("\n    ", lines.TakeLast(15));
    }

    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    /// <summary>Kills the process (and anything it started) by its PID, and waits for it.</summary>
    public void Kill() => _process.Kill();

    public void Dispose() => _process.Dispose();

    /// <summary>Takes a stdout line that is a JSON message with a <c>type</c>: an <c>error</c> fails the role.</summary>
    private bool Take(string line)
    {
        JsonObject? message = null;
        if (line.StartsWith('{'))
        {
            try
            {
                message = JsonNode.Parse(line) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        if (message?["type"]?.GetValue<string>() is not { } type)
        {
            return false;
        }

        if (type == "error")
        {
            _failed.TrySetResult(new RoleFailedException(message["message"]?.GetValue<string>() ?? "error"));
        }

        _byType.GetOrAdd(type, _ => Channel.CreateUnbounded<JsonObject>()).Writer.TryWrite(message);
        return true;
    }

    /// <summary>How to run this same program again: the dotnet host with our dll, or our apphost.</summary>
    private static readonly Lazy<(string FileName, string[] Prefix)> SelfCommand = new(() =>
    {
        var dll = typeof(RoleProcess).Assembly.Location;
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return (processPath, [dll]);
        }

        // Started through the apphost (dotnet run does that): use the dotnet host that runs this runtime.
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!; // <root>/shared/Microsoft.NETCore.App/<v>
        var dotnet = Path.Combine(runtimeDir, "..", "..", "..", OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(dotnet) ? (Path.GetFullPath(dotnet), [dll]) : (processPath, []);
    });
}

internal sealed class RoleFailedException(string message) : Exception(message);

/// <summary>The processes of one scenario run: all killed when the run ends, however it ends.</summary>
internal sealed class ProcessScope : IDisposable
{
    private readonly List<RoleProcess> _children = [];

    public RoleProcess Role(string name, string role, ArgList args)
    {
        var child = RoleProcess.StartRole(name, role, args.ToList());
        lock (_children)
        {
            _children.Add(child);
        }

        return child;
    }

    public void Dispose()
    {
        RoleProcess[] children;
        lock (_children)
        {
            children = [.. _children];
            _children.Clear();
        }

        // Ask every role to stop (a guard then reaps its nats-server), give them a moment, kill what is left by PID.
        // Publishers and receivers first, the server last.
        foreach (var child in children.Reverse())
        {
            child.Send("stop");
        }

        var deadline = Environment.TickCount64 + 3000;
        foreach (var child in children.Reverse())
        {
            child.WaitForExit(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));
            child.Dispose();
        }
    }
}
