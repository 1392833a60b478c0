using Serilog;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Wire;

/// <summary>NetMQ's connection behind a ROUTER routing id, or null when it cannot be told (<see cref="PeerAddresses.SocketOf"/>).</summary>
internal delegate AsyncIO.AsyncSocket? ConnectionOf(ReadOnlySpan<byte> routingId);

/// <summary>
/// Closes connections that talk but never join: one that sends frames (garbage, refused <c>HELO</c>s, anything but a
/// mesh command) for <see cref="TransmitterOptions.HandshakeTimeout"/> without being welcomed is shut down, counted in
/// <see cref="TransmitterCounters.HandshakeTimeouts"/> and logged (rate-limited). Those that say nothing at all are
/// <see cref="ConnectionGuard"/>'s, which reads the kernel's byte counts; this one sees routing ids, on the routing thread.
/// </summary>
/// <remarks>
/// The deadline runs from a connection's first frame, not from its connecting, which a ROUTER does not see; the two
/// together close any connection that has no session a little after the timeout. Bounded: one entry (a routing id) per
/// connection that has sent something and has no session, and connections are bounded by
/// <see cref="TransmitterOptions.MaxConnections"/>. Connections of the mesh (whose commands arrive on the same socket)
/// are exempt once they sent a mesh command: the mesh's own admission decides about them (PROTOCOL.md §12).
/// </remarks>
internal sealed class HandshakeDeadlines
{
    /// <summary>The deadline of a connection the mesh speaks on: never.</summary>
    private const long Exempt = long.MaxValue;

    private readonly Dictionary<byte[], long> _deadlines = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], long>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly List<byte[]> _due = [];
    private readonly ConnectionOf _socketOf;
    private readonly TransmitterCounters _counters;
    private readonly LogLimiter _warnings;
    private readonly ILogger _log;
    private readonly long _timeout;
    private readonly TimeSpan _timeoutSpan;

    /// <param name="timeout">How long a connection may talk without being welcomed; zero: for ever.</param>
    /// <param name="frequency">Ticks per second of the timestamps passed in.</param>
    /// <param name="socketOf">The connection behind a routing id (<see cref="PeerAddresses.SocketOf"/>).</param>
    /// <param name="counters">Where the closed connections are counted.</param>
    /// <param name="warnings">The routing thread's warning limiter.</param>
    /// <param name="log">Where the warnings go.</param>
    public HandshakeDeadlines(TimeSpan timeout, long frequency, ConnectionOf socketOf,
        TransmitterCounters counters, LogLimiter warnings, ILogger log)
    {
        _lookup = _deadlines.GetAlternateLookup<ReadOnlySpan<byte>>();
        _timeoutSpan = timeout;
        _timeout = (long)(timeout.TotalSeconds * frequency);
        _socketOf = socketOf;
        _counters = counters;
        _warnings = warnings;
        _log = log;
    }

    /// <summary>Connections that talk without a session, now.</summary>
    public int Count => _deadlines.Count;

    /// <summary>A frame from a connection without a session, at <paramref name="now"/>: its deadline starts if it had none.</summary>
    public void Heard(ReadOnlySpan<byte> routingId, long now)
    {
        if (_timeout > 0 && !_lookup.ContainsKey(routingId))
        {
            _lookup[routingId] = now + _timeout;
        }
    }

    /// <summary>The connection sent a mesh command: the mesh's admission decides about it, not the handshake timeout.</summary>
    public void Mesh(ReadOnlySpan<byte> routingId)
    {
        if (_timeout > 0)
        {
            _lookup[routingId] = Exempt;
        }
    }

    /// <summary>The connection is gone.</summary>
    public void Gone(ReadOnlySpan<byte> routingId)
    {
        if (_deadlines.Count > 0)
        {
            _lookup.Remove(routingId);
        }
    }

    /// <summary>
    /// Shuts down the connections past their deadline that still have no session (<paramref name="welcomed"/> says);
    /// forgets those that were welcomed since. On the routing thread.
    /// </summary>
    public void Tick(long now, Func<byte[], bool> welcomed)
    {
        if (_deadlines.Count == 0)
        {
            return;
        }

        _due.Clear();
        foreach (var (routingId, deadline) in _deadlines)
        {
            if (deadline != Exempt && (deadline <= now || welcomed(routingId)))
            {
                _due.Add(routingId);
            }
        }

        foreach (var routingId in _due)
        {
            _deadlines.Remove(routingId);
            if (welcomed(routingId))
            {
                continue;
            }

            TransmitterCounters.Increment(ref _counters.HandshakeTimeouts);
            var socket = ConnectionGuard.SystemSocketOf(_socketOf(routingId));
            if (_warnings.Allow(WarningKind.HandshakeTimeout))
            {
                _log.Warning("Closed the connection from {Peer}: it sent frames for {Timeout} without a valid HELO (--handshake-timeout-ms)",
                    socket?.RemoteEndPoint?.ToString() ?? "?", _timeoutSpan);
            }

            if (socket is not null)
            {
                ConnectionGuard.Shut(socket);
            }
        }

        _due.Clear();
    }
}
