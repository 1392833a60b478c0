using Thynapse.ProcessKit;

namespace Thynapse.TestKit;

/// <summary>A real <c>thynapse-transmitter</c> process on free loopback ports.</summary>
public sealed class TransmitterProcess : IDisposable
{
    private TransmitterProcess(ChildProcess process, int commandPort, int eventsPort, string host = "127.0.0.1")
    {
        Process = process;
        CommandPort = commandPort;
        EventsPort = eventsPort;
        Host = host;
    }

    /// <summary>The running process.</summary>
    public ChildProcess Process { get; }

    /// <summary>The command port.</summary>
    public int CommandPort { get; }

    /// <summary>The events port.</summary>
    public int EventsPort { get; }

    /// <summary>The address this test reaches it at.</summary>
    public string Host { get; }

    /// <summary>The command endpoint cells connect to.</summary>
    public string CommandEndpoint => $"tcp://{Host}:{CommandPort}";

    /// <summary>Starts a transmitter process (on the given ports, or free ones) and waits until it routes.</summary>
    public static Task<TransmitterProcess> StartAsync(int? commandPort = null, int? eventsPort = null, CancellationToken cancellationToken = default, params string[] extraArgs) =>
        StartAsync(commandPort, eventsPort, descriptorLimit: null, cancellationToken, extraArgs);

    /// <summary>
    /// Starts a transmitter process whose file descriptor limit (soft and hard) is <paramref name="descriptorLimit"/>
    /// (<c>ulimit -n</c> in a shell that then becomes the transmitter), and waits until it routes.
    /// </summary>
    public static async Task<TransmitterProcess> StartAsync(int? commandPort, int? eventsPort, int? descriptorLimit, CancellationToken cancellationToken, params string[] extraArgs)
    {
        var command = commandPort ?? Ports.Free();
        var events = eventsPort ?? Ports.Free();
        string[] args = ["--command", $"tcp://127.0.0.1:{command}", "--events", $"tcp://127.0.0.1:{events}", .. extraArgs];
        var process = descriptorLimit is { } limit
            ? ChildProcess.Start("bash", ExitWithStdin, ["-c", $"ulimit -n {limit} && exec dotnet \"$0\" \"$@\"", Path.Combine(AppContext.BaseDirectory, "thynapse-transmitter.dll"), .. args])
            : Run(null, args);
        try
        {
            await process.WaitForLineAsync("routing on", cancellationToken: cancellationToken);
        }
        catch
        {
            process.Dispose();
            throw;
        }

        return new TransmitterProcess(process, command, events);
    }

    /// <summary>
    /// Starts a transmitter process inside a <see cref="NetworkLab"/> node, bound on all of the node's addresses (ports
    /// 4710 and 4711: the namespace is the node's own), advertising its mesh address to its peers; this test reaches it
    /// at the node's management address (<see cref="Host"/>), which a partition does not cut. Waits until it routes.
    /// </summary>
    public static async Task<TransmitterProcess> StartInAsync(NetworkNode node, CancellationToken cancellationToken, params string[] extraArgs)
    {
        ArgumentNullException.ThrowIfNull(node);
        const int command = 4710, events = 4711;
        var process = NetworkLab.StartIn(node, new ChildProcessOptions
        {
            FileName = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "thynapse-transmitter.dll"), "--command", $"tcp://0.0.0.0:{command}", "--events", $"tcp://0.0.0.0:{events}",
                "--advertise-host", node.MeshAddress, .. extraArgs],
            Environment = ExitWithStdin,
        });
        try
        {
            await process.WaitForLineAsync("routing on", cancellationToken: cancellationToken);
        }
        catch
        {
            process.Dispose();
            throw;
        }

        return new TransmitterProcess(process, command, events, node.ManagementAddress);
    }

    /// <summary>Its command endpoint as its mesh peers reach it (inside a <see cref="NetworkLab"/>).</summary>
    public static string MeshEndpoint(NetworkNode node) => $"tcp://{node.MeshAddress}:4710";

    /// <summary>Starts another transmitter process on this one's ports (once it is gone), and waits until it routes.</summary>
    public Task<TransmitterProcess> StartAgainAsync(CancellationToken cancellationToken, params string[] extraArgs) =>
        StartAsync(CommandPort, EventsPort, cancellationToken, extraArgs);

    /// <summary>Kills the process with SIGKILL (it shuts nothing down) and waits (bounded) until it has exited.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        Process.Signal(ChildProcess.SigKill);
        await Process.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken);
    }

    /// <summary>
    /// Starts <c>thynapse-transmitter</c> with <paramref name="args"/> as it is, without waiting for anything. Like
    /// every transmitter the kit starts, it runs with <c>THYNAPSE_EXIT_WITH_STDIN=1</c>: it shuts down when its stdin
    /// (a pipe from this process) closes, so that a test host that dies, even by SIGKILL, leaves no transmitter behind.
    /// </summary>
    public static ChildProcess Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var withExit = new Dictionary<string, string>(environment ?? new Dictionary<string, string>());
        foreach (var (name, value) in ExitWithStdin)
        {
            withExit[name] = value;
        }

        return ChildProcess.StartDotnet("thynapse-transmitter.dll", withExit, args);
    }

    private static readonly Dictionary<string, string> ExitWithStdin = new() { ["THYNAPSE_EXIT_WITH_STDIN"] = "1" };

    /// <inheritdoc />
    public void Dispose() => Process.Dispose();
}
