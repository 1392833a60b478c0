using System.Net;
using System.Net.Sockets;
using System.Reflection;
using NetMQ;
using NetMQ.Monitoring;
using Serilog;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Wire;

/// <summary>
/// Bounds the connections of the command socket in count and, for those that never say anything, in time (issue 15,
/// finding 12: 1,010 raw connections under <c>ulimit -n 1024</c> crashed the transmitter in NetMQ's accept path, and
/// connections that never sent <c>HELO</c> were held forever). Runs on a thread of its own, fed by a monitor of the
/// ROUTER, so that refusing keeps pace with NetMQ's accepting whatever the routing thread is doing (under a flood the
/// descriptors accepted before a refusal are what could still run the process out of them).
/// </summary>
/// <remarks>
/// <para>
/// ZeroMQ gives a ROUTER no way to close one peer. The monitor's <c>Accepted</c> event does hand over the accepted
/// socket, and shutting its TCP connection down (not disposing it, which NetMQ's I/O thread would still use) makes
/// NetMQ see the peer leave and clean up as for any disconnect. That is how a connection past
/// <see cref="TransmitterOptions.MaxConnections"/> is refused, at once, and how one that has sent no more than a
/// ZeroMQ handshake within <see cref="TransmitterOptions.HandshakeTimeout"/> is cut off.
/// </para>
/// <para>
/// A ROUTER cannot tell which connection a message came from, so "has said something" is read from the kernel: the
/// bytes a connection has received (Linux <c>TCP_INFO.tcpi_bytes_received</c>). A ZeroMQ greeting and a DEALER's
/// <c>READY</c> take 94 bytes (a few more with a routing id, which cells do not set), the smallest <c>HELO</c> more
/// than 60: a connection that received at most <see cref="HandshakeBytes"/> has not sent a command. A peer speaks
/// only after our own greeting and <c>READY</c>: one whose connection has not yet had them acknowledged
/// (<c>tcpi_bytes_acked</c>, as when NetMQ's I/O thread is behind a storm of connections) is looked at again a timeout
/// later. Where the kernel does not say, connections are bounded in count only.
/// </para>
/// </remarks>
internal sealed class ConnectionGuard : IDisposable
{
    /// <summary>Bytes a connection may have sent and still have said nothing beyond the ZeroMQ handshake.</summary>
    internal const int HandshakeBytes = 120;

    /// <summary>The ROUTER's own greeting and READY: until the peer has had them, it cannot have said anything.</summary>
    private const int OurHandshakeBytes = 94;

    private static readonly FieldInfo? SocketField = typeof(AsyncIO.AsyncSocket).Assembly
        .GetType("AsyncIO.DotNet.NativeSocket")?.GetField("m_socket", BindingFlags.NonPublic | BindingFlags.Instance);

    private readonly NetMQMonitor _monitor;
    private readonly TransmitterCounters _counters;
    private readonly LogLimiter _warnings;
    private readonly ILogger _log;
    private readonly int _maxConnections;
    private readonly int _maxPerAddress;
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private readonly Dictionary<AsyncIO.AsyncSocket, IPAddress> _addressOf = new(ReferenceEqualityComparer.Instance);
    private long _lastAddressRecount = -1000;
    private readonly int _port;
    private readonly long _handshakeTimeoutMs;
    private readonly Queue<(Socket Socket, long Deadline)> _pending = new();
    private bool _tcpInfoWorks = OperatingSystem.IsLinux();
    private long _lastRecount = -1000;
    private long _lastForget;
    private readonly List<AsyncIO.AsyncSocket> _closed = [];

    private readonly NetMQPoller _poller;
    private readonly NetMQTimer _timer;

    /// <param name="router">The command socket.</param>
    /// <param name="port">The TCP port it is bound to (its connections are those with this local port).</param>
    /// <param name="options">Limits and timeouts.</param>
    /// <param name="counters">Where refusals, timeouts and connection counts go.</param>
    /// <param name="log">Where warnings go (rate-limited).</param>
    public ConnectionGuard(NetMQSocket router, int port, TransmitterOptions options, TransmitterCounters counters, ILogger log)
    {
        _port = port;
        _counters = counters;
        _log = log;
        _warnings = new LogLimiter(log, System.Diagnostics.Stopwatch.GetTimestamp, System.Diagnostics.Stopwatch.Frequency);
        _maxConnections = options.MaxConnections;
        _maxPerAddress = options.MaxConnectionsPerAddress;
        _handshakeTimeoutMs = (long)options.HandshakeTimeout.TotalMilliseconds;
        _monitor = new NetMQMonitor(router, $"inproc://thynapse-connections-{Guid.NewGuid():N}", SocketEvents.Accepted | SocketEvents.AcceptFailed | SocketEvents.Disconnected);
        _monitor.Accepted += (_, e) => Guarded(() => OnAccepted(e.Socket));
        _monitor.AcceptFailed += (_, e) => Guarded(() => OnAcceptFailed(e.ErrorCode));
        _monitor.Disconnected += (_, e) => Guarded(() => OnDisconnected(e.Socket));
        _timer = new NetMQTimer(TimeSpan.FromMilliseconds(Math.Clamp(_handshakeTimeoutMs / 4, 10, 1000)));
        _timer.Elapsed += (_, _) => Guarded(Tick);
        _poller = [_timer];
        _monitor.AttachToPoller(_poller);
        _poller.RunAsync("thynapse-connections", isBackgroundThread: true);
    }

    /// <summary>Connections open now, as counted from the monitor's events (tests may set it to make it drift).</summary>
    internal int Open { get; set; }

    /// <summary>The guard's timer: cuts off connections that said nothing within the handshake timeout.</summary>
    private void Tick()
    {
        var now = Environment.TickCount64;
        while (_pending.TryPeek(out var oldest) && oldest.Deadline <= now)
        {
            _pending.Dequeue();
            var said = Said(oldest.Socket);
            if (said == Saying.NotYetItsTurn)
            {
                // Our own side of the handshake has not gone out yet (NetMQ's I/O thread is behind, as under a storm of
                // connections): the peer has had no chance to speak. Look again a timeout later.
                _pending.Enqueue((oldest.Socket, now + _handshakeTimeoutMs));
                continue;
            }

            if (said == Saying.Nothing)
            {
                TransmitterCounters.Increment(ref _counters.HandshakeTimeouts);
                if (_warnings.Allow(WarningKind.HandshakeTimeout))
                {
                    _log.Warning("Closed the connection from {Peer}: it sent no command within {Timeout} ms of connecting (at most a ZeroMQ handshake)", Peer(oldest.Socket), _handshakeTimeoutMs);
                }

                Shut(oldest.Socket);
            }
        }

        Recount();
        ForgetClosed();
        _warnings.Tick();
    }

    public void Dispose()
    {
        _poller.Stop();
        _monitor.Dispose();
        _poller.Dispose();
        _timer.Enable = false;
    }

    private enum Saying
    {
        Nothing,
        NotYetItsTurn,
        Something,
    }

    private void OnAccepted(AsyncIO.AsyncSocket? accepted)
    {
        Open++;
        TransmitterCounters.Increment(ref _counters.ConnectionsAccepted);
        if (SystemSocketOf(accepted) is not { } socket)
        {
            return; // a NetMQ without the socket we know: bounded by the file descriptor limit alone
        }

        // Decided on the count alone, at once: under a flood this thread must keep pace with NetMQ's accepting. A count
        // that drifted up is corrected by the timer (Recount).
        if (Open > _maxConnections)
        {
            TransmitterCounters.Increment(ref _counters.ConnectionsRefused);
            if (_warnings.Allow(WarningKind.ConnectionRefused))
            {
                _log.Warning("Refused the connection from {Peer}: {Open} connections are open, the limit is {Max} (--max-connections, and the process's file descriptor limit)",
                    Peer(socket), Open - 1, _maxConnections);
            }

            Shut(socket);
            return;
        }

        if (!AdmitSource(accepted!, socket))
        {
            return;
        }

        if (_tcpInfoWorks && _handshakeTimeoutMs > 0)
        {
            _pending.Enqueue((socket, Environment.TickCount64 + _handshakeTimeoutMs));
        }
    }

    /// <summary>
    /// Counts the connection against its source address, or closes it when that address has
    /// <see cref="TransmitterOptions.MaxConnectionsPerAddress"/> open already (before any ZeroMQ handshake: there is no
    /// routing id to send an <c>ERRR</c> to). A count at the limit is checked against the kernel's table first, at most
    /// once a second (the monitor drops events while its queue is full, and a count that drifted up would refuse the
    /// address for good).
    /// </summary>
    private bool AdmitSource(AsyncIO.AsyncSocket accepted, Socket socket)
    {
        IPAddress? address;
        try
        {
            address = (socket.RemoteEndPoint as IPEndPoint)?.Address;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false; // gone already
        }

        if (address is null)
        {
            return true;
        }

        address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        var open = _perAddress.GetValueOrDefault(address);
        if (open >= _maxPerAddress && OperatingSystem.IsLinux() && Environment.TickCount64 - _lastAddressRecount >= 900)
        {
            _lastAddressRecount = Environment.TickCount64;
            if (CountConnections(_port, address) is { } counted)
            {
                open = Math.Max(0, counted - 1); // the table lists this connection too
            }
        }

        if (open >= _maxPerAddress)
        {
            _perAddress[address] = open;
            TransmitterCounters.Increment(ref _counters.ConnectionsRefusedPerAddress);
            if (_warnings.Allow(WarningKind.ConnectionRefused))
            {
                _log.Warning("Refused a connection from {Address}: it has {Open} connections open, the limit per address is {Max} (--max-connections-per-address)",
                    address, open, _maxPerAddress);
            }

            Shut(socket);
            return false;
        }

        _perAddress[address] = open + 1;
        _addressOf[accepted] = address;
        return true;
    }

    /// <summary>
    /// Forgets, every few seconds, the connections counted against an address whose <c>Disconnected</c> event never
    /// came (the monitor drops events while its queue is full): NetMQ has closed their sockets. Keeps the per-address
    /// table as large as the open connections, and their counts true.
    /// </summary>
    private void ForgetClosed()
    {
        var now = Environment.TickCount64;
        if (_addressOf.Count == 0 || now - _lastForget < 5000)
        {
            return;
        }

        _lastForget = now;
        _closed.Clear();
        foreach (var (accepted, _) in _addressOf)
        {
            if (SystemSocketOf(accepted) is not { } socket || socket.SafeHandle.IsClosed)
            {
                _closed.Add(accepted);
            }
        }

        _closed.ForEach(OnGone);
        _closed.Clear();
    }

    /// <summary>
    /// Corrects a count that may have drifted up (a monitor drops events while its queue is full), at most once a
    /// second and only while the count is at the limit, on Linux: the command port's connections are counted again from
    /// the kernel's tables (or, where those cannot be read, the descriptors the process has open bound the count from
    /// above). Until then a drifted count refuses connections it need not: for about a second. Events still queued in
    /// the monitor when the tables are read make the recount off by as many, corrected at the next recount.
    /// </summary>
    private void Recount()
    {
        var now = Environment.TickCount64;
        if (Open < _maxConnections || !OperatingSystem.IsLinux() || now - _lastRecount < 900) // 900: a 1 s timer's jitter does not skip a tick
        {
            return;
        }

        _lastRecount = now;
        try
        {
            // The descriptors open are no use as the count itself: the process holds others, and with a low
            // --max-connections they alone would keep a drifted count from ever coming down to the truth.
            Open = CountConnections(_port) ?? Math.Min(Open, Directory.GetFiles("/proc/self/fd").Length);
        }
        catch (IOException)
        {
            // Out of descriptors to look with: the count stands until the next try.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// The connections this process holds whose local port is <paramref name="port"/> (established, or closing but
    /// not yet closed): the sockets of <c>/proc/self/net/tcp</c> and <c>tcp6</c> with that port whose inode is one of
    /// this process's descriptors (a socket another process holds, or one already closed and lingering, is not ours).
    /// Only the command socket listens on that port, so these are its connections. Null when the tables cannot be read.
    /// </summary>
    internal static int? CountConnections(int port, IPAddress? remote = null)
    {
        (string v4, string v6)? remoteHex = remote is null ? null : (TableHex(remote, v6: false), TableHex(remote, v6: true));
        var ours = new HashSet<string>(StringComparer.Ordinal);
        foreach (var descriptor in Directory.EnumerateFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    ours.Add(target[8..^1]);
                }
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }

        int? count = null;
        foreach (var table in new[] { "/proc/self/net/tcp", "/proc/self/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            count ??= 0;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // "  12: 0100007F:1266 0100007F:D4F2 01 … uid timeout inode …": local address:port (hex), remote, state.
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 10)
                {
                    continue;
                }

                var local = fields[1];
                var colon = local.LastIndexOf(':');
                if (colon < 0 || !int.TryParse(local.AsSpan(colon + 1), System.Globalization.NumberStyles.HexNumber, null, out var localPort) || localPort != port)
                {
                    continue;
                }

                if (remoteHex is { } hex && fields[2].AsSpan(0, Math.Max(0, fields[2].LastIndexOf(':'))) is var peer
                    && !peer.SequenceEqual(hex.v4) && !peer.SequenceEqual(hex.v6))
                {
                    continue;
                }

                // 01 established, 04/05 FIN_WAIT1/2, 08 CLOSE_WAIT, 09 LAST_ACK, 0B CLOSING; 0A is the listener itself.
                // Each inode once: the kernel writes the table in chunks, and a socket that moves while it is read can
                // be listed twice.
                if (fields[3] is "01" or "04" or "05" or "08" or "09" or "0B" && ours.Remove(fields[9]))
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>
    /// An address as <c>/proc/net/tcp</c> (IPv4: one 32-bit word) or <c>tcp6</c> (four words; IPv4 as IPv4-mapped) print
    /// it: each word in the host's byte order, in hexadecimal.
    /// </summary>
    internal static string TableHex(IPAddress address, bool v6)
    {
        var bytes = (v6 ? address.MapToIPv6() : address.MapToIPv4()).GetAddressBytes();
        var text = new System.Text.StringBuilder(bytes.Length * 2);
        for (var word = 0; word < bytes.Length; word += 4)
        {
            var value = BitConverter.ToUInt32(bytes, word); // the host's order, as the kernel prints it
            text.Append(value.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    private void OnAcceptFailed(ErrorCode code)
    {
        TransmitterCounters.Increment(ref _counters.ConnectionsRefused);
        if (_warnings.Allow(WarningKind.ConnectionRefused))
        {
            _log.Warning("Could not accept a connection: {Error} ({Open} open; raise the file descriptor limit or lower --max-connections)", code, Open);
        }
    }

    private void OnDisconnected(AsyncIO.AsyncSocket? socket)
    {
        if (socket is not null)
        {
            OnGone(socket);
        }

        Open = Math.Max(0, Open - 1);
        TransmitterCounters.Increment(ref _counters.ConnectionsClosed);
    }

    /// <summary>The connection no longer counts against its address.</summary>
    private void OnGone(AsyncIO.AsyncSocket socket)
    {
        if (_addressOf.Remove(socket, out var address))
        {
            var open = _perAddress.GetValueOrDefault(address) - 1;
            if (open > 0)
            {
                _perAddress[address] = open;
            }
            else
            {
                _perAddress.Remove(address);
            }
        }
    }

    /// <summary>
    /// What the kernel says of a connection: it received no more than a ZeroMQ handshake although ours went out
    /// (<see cref="Saying.Nothing"/>), ours has not gone out yet, or it sent more (or it is gone, or we cannot tell).
    /// </summary>
    private Saying Said(Socket socket)
    {
        Span<byte> info = stackalloc byte[232];
        try
        {
            var length = socket.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
            if (length < 136)
            {
                _tcpInfoWorks = false;
                return Saying.Something;
            }

            var acked = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(info[120..]); // tcpi_bytes_acked
            var received = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(info[128..]); // tcpi_bytes_received
            // A ZeroMQ peer sends its signature (10 bytes) at once, whatever we do: one that has not is not speaking ZeroMQ.
            return received > HandshakeBytes ? Saying.Something
                : received >= 10 && acked < OurHandshakeBytes ? Saying.NotYetItsTurn
                : Saying.Nothing;
        }
        catch (ObjectDisposedException)
        {
            return Saying.Something; // already closed
        }
        catch (SocketException)
        {
            return Saying.Something; // not connected any more
        }
        catch (PlatformNotSupportedException)
        {
            _tcpInfoWorks = false;
            return Saying.Something;
        }
    }

    /// <summary>Shuts the TCP connection down under NetMQ, which then sees the peer leave and cleans up as for any disconnect.</summary>
    internal static void Shut(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Gone already.
        }
    }

    /// <summary>The .NET socket under NetMQ's <paramref name="socket"/>, or null with a NetMQ whose internals differ.</summary>
    internal static Socket? SystemSocketOf(AsyncIO.AsyncSocket? socket) => socket is null ? null : SocketField?.GetValue(socket) as Socket;

    private static string Peer(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint?.ToString() ?? "?";
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return "?";
        }
    }

    private void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _log.Error(ex, "Failed to handle a connection event; the transmitter goes on");
        }
    }
}
