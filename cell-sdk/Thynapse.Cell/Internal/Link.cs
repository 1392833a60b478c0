using NetMQ;
using NetMQ.Monitoring;
using NetMQ.Sockets;

namespace Thynapse.Cell.Internal;

/// <summary>
/// One attempt at a session with a transmitter: a DEALER socket of its own, watched by a monitor so that a closed
/// connection is seen at once. Socket thread.
/// </summary>
/// <remarks>
/// Every attempt gets a new socket, so nothing queued for an earlier session (events, acknowledgements, beats) can reach
/// the transmitter ahead of the next <c>HELO</c>, and a transmitter that restarted never sees the cell's events before
/// it has welcomed it again (issue 15, finding 2).
/// </remarks>
internal sealed class Link
{
    private readonly SocketThread _thread;
    private readonly NetMQMonitor _monitor;
    private readonly LinkEvents _events;
    private readonly SocketCount _sockets;

    private Link(SocketThread thread, DealerSocket dealer, NetMQMonitor monitor, int number, LinkEvents events, SocketCount sockets)
    {
        _thread = thread;
        Dealer = dealer;
        _monitor = monitor;
        Number = number;
        _events = events;
        _sockets = sockets;
    }

    /// <summary>Its socket.</summary>
    public DealerSocket Dealer { get; }

    /// <summary>Its number: the cell's links are numbered from 1, and a session is known by its link's.</summary>
    public int Number { get; }

    /// <summary>True once <c>WLCM</c> came on this link.</summary>
    public bool Welcomed { get; set; }

    /// <summary>True while its TCP connection is up.</summary>
    public bool Connected { get; set; }

    /// <summary>When the <c>HELO</c> now waiting for an answer was sent (0: none waits).</summary>
    public long HelloSentAt { get; set; }

    /// <summary>The <c>ref</c> of the last <c>HELO</c> sent on this link (0: none).</summary>
    public long HelloRef { get; set; }

    /// <summary>
    /// Opens link <paramref name="number"/> towards <paramref name="endpoint"/>. Whatever fails on the way (NetMQ out of
    /// sockets; a host that does not resolve, a <see cref="System.Net.Sockets.SocketException"/> from Connect) disposes
    /// the socket and its monitor before it is thrown (review finding 2).
    /// </summary>
    public static Link Open(SocketThread thread, string endpoint, string name, int number, LinkEvents events, SocketCount sockets,
        (NetMQCertificate Own, byte[] Server)? curve = null)
    {
        var dealer = new DealerSocket();
        sockets.Opened();
        NetMQMonitor? monitor = null;
        try
        {
            dealer.Options.Linger = TimeSpan.Zero;
            // Bounded socket queues (frames batch many events): past them, memory stops growing and back-pressure starts.
            dealer.Options.SendHighWatermark = 256;
            dealer.Options.ReceiveHighWatermark = 1_000;
            dealer.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
            dealer.Options.ReconnectIntervalMax = TimeSpan.FromSeconds(2);
            if (curve is var (own, server))
            {
                dealer.Options.CurveServerKey = server;
                dealer.Options.CurveCertificate = own;
            }
            monitor = new NetMQMonitor(dealer, $"inproc://{name}-{number}", SocketEvents.Connected | SocketEvents.ConnectRetried | SocketEvents.Disconnected);
            sockets.Opened();
            var link = new Link(thread, dealer, monitor, number, events, sockets);
            monitor.Connected += (_, _) => thread.Guarded("a connection event", () => events.Connected(link));
            monitor.ConnectRetried += (_, _) => thread.Guarded("a connection event", () => events.ConnectRetried(link));
            monitor.Disconnected += (_, _) => thread.Guarded("a connection event", () => events.Disconnected(link));
            dealer.ReceiveReady += events.ReceiveReady;
            monitor.AttachToPoller(thread.Poller);
            thread.Poller.Add(dealer);
            dealer.Connect(endpoint); // resolves the host here
            return link;
        }
        catch
        {
            DisposeSockets(thread, dealer, monitor, events, sockets, TimeSpan.Zero);
            throw;
        }
    }

    /// <summary>Closes the socket; <paramref name="linger"/>: how long it may still try to send what it holds.</summary>
    public void Close(TimeSpan linger) => DisposeSockets(_thread, Dealer, _monitor, _events, _sockets, linger);

    /// <summary>Takes the sockets off the poller and disposes them (the monitor first: it watches the dealer).</summary>
    private static void DisposeSockets(SocketThread thread, DealerSocket dealer, NetMQMonitor? monitor, LinkEvents events, SocketCount sockets, TimeSpan linger)
    {
        dealer.ReceiveReady -= events.ReceiveReady;
        thread.Poller.Remove(dealer); // harmless if it was never added
        if (monitor is not null)
        {
            monitor.Dispose(); // detaches it from the poller if it was attached
            sockets.Closed();
        }

        dealer.Options.Linger = linger;
        dealer.Dispose();
        sockets.Closed();
    }
}

/// <summary>What a link reports, on the socket thread: its connection's events, and frames to read.</summary>
internal sealed record LinkEvents(
    Action<Link> Connected,
    Action<Link> ConnectRetried,
    Action<Link> Disconnected,
    EventHandler<NetMQSocketEventArgs> ReceiveReady);

/// <summary>NetMQ sockets a cell's links opened and have not disposed yet (tests check that none leak).</summary>
internal sealed class SocketCount
{
    private int _open;

    public int Open => Volatile.Read(ref _open);

    public void Opened() => Interlocked.Increment(ref _open);

    public void Closed() => Interlocked.Decrement(ref _open);
}
