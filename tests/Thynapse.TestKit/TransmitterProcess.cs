namespace Thynapse.TestKit;

/// <summary>A real <c>thynapse-transmitter</c> process on free loopback ports.</summary>
public sealed class TransmitterProcess : IDisposable
{
    private TransmitterProcess(ChildProcess process, int commandPort, int eventsPort)
    {
        Process = process;
        CommandPort = commandPort;
        EventsPort = eventsPort;
    }

    /// <summary>The running process.</summary>
    public ChildProcess Process { get; }

    /// <summary>The command port.</summary>
    public int CommandPort { get; }

    /// <summary>The events port.</summary>
    public int EventsPort { get; }

    /// <summary>The command endpoint cells connect to.</summary>
    public string CommandEndpoint => $"tcp://127.0.0.1:{CommandPort}";

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
            ? ChildProcess.Start("bash", ["-c", $"ulimit -n {limit} && exec dotnet \"$0\" \"$@\"", Path.Combine(AppContext.BaseDirectory, "thynapse-transmitter.dll"), .. args])
            : ChildProcess.StartDotnet("thynapse-transmitter.dll", args);
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

    /// <inheritdoc />
    public void Dispose() => Process.Dispose();
}
