using Serilog;

namespace Thynapse.Cell.Internal;

/// <summary>
/// What attempts to join met since the last welcome — connections made, refused, closed before a welcome, unanswered;
/// links that could not be opened — and, from that, why the first connection did not succeed, for
/// <see cref="Cell.ConnectAsync"/>'s timeout (a newcomer's first mistake). Socket thread; the diagnosis is read once
/// connecting has given up.
/// </summary>
internal sealed class JoinAttempts(string endpoint, ILogger log)
{
    public int Connections { get; set; }

    public int Refusals { get; set; }

    public int ClosedBeforeWelcome { get; set; }

    public int Unanswered { get; set; }

    public int Unresolved { get; private set; }

    public int Failures { get; private set; }

    public string? LastFailure { get; private set; }

    /// <summary>A session was lost: what the attempts to join it again meet is counted afresh.</summary>
    public void Reset()
    {
        (Connections, Refusals, ClosedBeforeWelcome, Unanswered, Unresolved, Failures) = (0, 0, 0, 0, 0, 0);
        LastFailure = null;
    }

    /// <summary>
    /// No link could be opened: NetMQ has no socket left (returned: the first connection fails at once, more attempts
    /// cannot help), or the host does not resolve (it may yet: a name registered late; review finding 2), or something
    /// else went wrong. Each kind is logged and remembered for <see cref="Diagnose"/>.
    /// </summary>
    public ThynapseConnectionException? LinkNotOpened(Exception ex)
    {
        LastFailure = ex.Message;
        switch (ex)
        {
            case NetMQ.NetMQException:
                // Each cell takes about seven of the process's NetMQ sockets (its DEALER, the monitor watching it, the
                // queues of its socket thread): past NetMQConfig.MaxSockets (1,024 by default) none can be opened.
                var failure = new ThynapseConnectionException(
                    $"Could not open a socket towards {endpoint}: {ex.Message}. A process with many cells may need a higher NetMQConfig.MaxSockets (now {NetMQ.NetMQConfig.MaxSockets}; each cell takes about 7).", ex);
                log.Error(failure, "Could not open a link");
                return failure;
            case System.Net.Sockets.SocketException:
                if (Unresolved++ == 0)
                {
                    log.Warning("Could not resolve host {Host} of {Endpoint} ({Reason}); retrying", HostOf(endpoint), endpoint, ex.Message);
                }

                return null;
            default:
                Failures++;
                log.Error(ex, "Could not open a link towards {Endpoint}", endpoint);
                return null;
        }
    }

    /// <summary>Why no welcome came within <paramref name="waited"/>, naming the option to fix.</summary>
    public string Diagnose(TimeSpan waited)
    {
        if (Connections == 0 && Unresolved > 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): could not resolve host '{HostOf(endpoint)}' in CellOptions.Transmitter " +
                $"({Unresolved} attempts; {LastFailure}). Check the host name, or give the transmitter's IP address.";
        }

        if (Connections == 0 && Failures > 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): could not open a socket towards it ({Failures} attempts; {LastFailure}).";
        }

        if (Connections == 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): no TCP connection could be made" +
                (Refusals > 0 ? $" ({Refusals} attempts were refused)" : "") +
                $". Is a transmitter running at {endpoint}? Start one with 'dotnet run --project transmitter/Thynapse.Transmitter.Host', or set CellOptions.Transmitter to its command endpoint.";
        }

        if (ClosedBeforeWelcome > 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): the peer closed the connection {ClosedBeforeWelcome} times before answering HELO. " +
                "Is that the transmitter's command endpoint (--command, default port 4710)? Its events endpoint (--events, default 4711) and other ZeroMQ sockets refuse cells.";
        }

        return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): connected, but HELO got no answer. " +
            "The peer may be a stopped or overloaded transmitter, or not a Thynapse transmitter at all.";
    }

    /// <summary>The host of a <c>tcp://host:port</c> endpoint (validated by <see cref="CellOptions"/>).</summary>
    private static string HostOf(string endpoint)
    {
        var hostAndPort = endpoint.StartsWith("tcp://", StringComparison.Ordinal) ? endpoint[6..] : endpoint;
        var colon = hostAndPort.LastIndexOf(':');
        return colon < 0 ? hostAndPort : hostAndPort[..colon];
    }
}
