using NetMQ;
using NetMQ.Monitoring;
using NetMQ.Sockets;
using Thynapse.Core;

namespace Thynapse.Cell;

// Getting frames in and out of the DEALER socket of the current link. Everything here runs on the socket thread.
public sealed partial class Cell
{
    private const int ReceiveBudget = 4096;

    private readonly Queue<Outgoing> _outbox = new();
    private Link? _link;
    private int _links;
    private Msg _frame;
    private Msg _body;
    private Msg _extra;
    private bool _sendReadyWatched;
    /// <summary>When a frame that had waited for room in the socket last left (see <see cref="OnSendReady"/>).</summary>
    private long _lastTaken;
    private int _socketsOpen;

    /// <summary>Links (one per attempt at a session) opened so far.</summary>
    internal int LinksOpened => Volatile.Read(ref _links);

    /// <summary>DEALER sockets and monitors this cell opened and has not disposed yet (tests check that none leak).</summary>
    internal int SocketsOpen => Volatile.Read(ref _socketsOpen);

    /// <summary>
    /// Opens a link: a new DEALER socket towards the transmitter, watched by a monitor so that a closed connection is
    /// seen at once. Every attempt at a session gets a socket of its own, so nothing queued for an earlier session (events,
    /// acknowledgements, beats) can reach the transmitter ahead of the next <c>HELO</c>, and a transmitter that restarted
    /// never sees this cell's events before it has welcomed it again (issue 15, finding 2).
    /// </summary>
    private void OpenLink()
    {
        var number = ++_links;
        var dealer = new DealerSocket();
        Interlocked.Increment(ref _socketsOpen);
        NetMQMonitor? monitor = null;
        try
        {
            dealer.Options.Linger = TimeSpan.Zero;
            // Bounded socket queues (frames batch many events): past them, memory stops growing and back-pressure starts.
            dealer.Options.SendHighWatermark = 256;
            dealer.Options.ReceiveHighWatermark = 1_000;
            dealer.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
            dealer.Options.ReconnectIntervalMax = TimeSpan.FromSeconds(2);
            monitor = new NetMQMonitor(dealer, $"inproc://thynapse-cell-{Id}-{number}", SocketEvents.Connected | SocketEvents.ConnectRetried | SocketEvents.Disconnected);
            Interlocked.Increment(ref _socketsOpen);
            var link = new Link(dealer, monitor, number);
            monitor.Connected += (_, _) => _thread.Guarded("a connection event", () => OnConnected(link));
            monitor.ConnectRetried += (_, _) => _thread.Guarded("a connection event", () => OnConnectRetried(link));
            monitor.Disconnected += (_, _) => _thread.Guarded("a connection event", () => OnDisconnected(link));
            dealer.ReceiveReady += OnReceiveReady;
            monitor.AttachToPoller(_thread.Poller);
            _thread.Poller.Add(dealer);
            dealer.Connect(_options.Transmitter); // resolves the host here: an unknown one throws a SocketException
            _link = link;
        }
        catch
        {
            // Whatever failed (NetMQ out of sockets, a host that does not resolve), the socket and its monitor go with it.
            DisposeSockets(dealer, monitor, TimeSpan.Zero);
            throw;
        }
    }

    /// <summary>
    /// Closes the current link. Batches of events it had not yet taken go back to their queue, to leave on the next
    /// link; control frames and acknowledgements belonged to its session and are dropped with it.
    /// </summary>
    /// <param name="linger">How long the socket may still try to send what it holds (zero when the session is lost).</param>
    private void CloseLink(TimeSpan linger)
    {
        if (_link is not { } link)
        {
            return;
        }

        _link = null;
        _requests.Remove(link.HelloRef); // a HELO still waiting for its answer is not answered on another link
        WatchSendReady(link, false);
        while (_outbox.TryDequeue(out var item))
        {
            if (item.Batch is { } batch)
            {
                item.Owner!.PutBack(batch);
            }
        }

        DisposeSockets(link.Dealer, link.Monitor, linger);
    }

    /// <summary>Takes a link's sockets off the poller and disposes them (the monitor first: it watches the dealer).</summary>
    private void DisposeSockets(DealerSocket dealer, NetMQMonitor? monitor, TimeSpan linger)
    {
        dealer.ReceiveReady -= OnReceiveReady;
        _thread.Poller.Remove(dealer); // harmless if it was never added
        if (monitor is not null)
        {
            monitor.Dispose(); // detaches it from the poller if it was attached
            Interlocked.Decrement(ref _socketsOpen);
        }

        dealer.Options.Linger = linger;
        dealer.Dispose();
        Interlocked.Decrement(ref _socketsOpen);
    }

    private void OnReceiveReady(object? sender, NetMQSocketEventArgs? e)
    {
        if (_link is not { } link || (e is not null && !ReferenceEquals(e.Socket, link.Dealer)))
        {
            return; // an event of a link closed meanwhile
        }

        var dealer = link.Dealer;
        for (var i = 0; i < ReceiveBudget && _link == link && dealer.TryReceive(ref _frame, TimeSpan.Zero); i++)
        {
            var hasBody = _frame.HasMore && dealer.TryReceive(ref _body, TimeSpan.Zero);
            var more = hasBody && _body.HasMore;
            while (more && dealer.TryReceive(ref _extra, TimeSpan.Zero))
            {
                more = _extra.HasMore; // transmitters never send more than two frames; ignore the rest
            }

            _lastHeard = Now();
            try
            {
                if (IsBinaryDeliveries(_frame.Slice()))
                {
                    // The hot path: the events' bodies become slices of this frame's buffer, which we keep.
                    HandleDeliveries(TakeBuffer(ref _frame), FrameHeader.PayloadOffset);
                }
                else
                {
                    Handle(_frame.Slice(), hasBody ? _body.Slice() : default);
                }
            }
            catch (Exception ex)
            {
                // A frame we cannot handle is a bug on one side or the other; the socket thread must go on.
                _log.Error(ex, "Failed to handle a frame from the transmitter");
            }

            Release(ref _frame);
            Release(ref _body);
            Release(ref _extra);
        }
    }

    /// <summary>Sends a control frame on the current link, or queues it behind earlier ones when the socket is at its high-water mark.</summary>
    private void Send(byte[] frame)
    {
        if (_link is null)
        {
            return; // no session to say it in: whatever it was belongs to the one that was lost
        }

        var item = new Outgoing(frame, null, null);
        if (_outbox.Count > 0 || !TrySend(item))
        {
            _outbox.Enqueue(item);
            WatchSendReady(_link, true);
        }
    }

    private bool TrySend(Outgoing item)
    {
        if (_link is not { } link)
        {
            return false;
        }

        var frame = item.Batch is { } batch ? batch.Frame : item.Frame;
        var msg = default(Msg);
        msg.InitPool(frame.Length);
        frame.CopyTo(msg.Slice());
        var sent = link.Dealer.TrySend(ref msg, TimeSpan.Zero, more: false);
        msg.Close();
        if (sent && item.Batch is not null)
        {
            if (ReferenceEquals(item.Owner, _publishes))
            {
                _credit -= frame.Length;
            }

            item.Owner!.Release(item.Batch);
        }

        return sent;
    }

    private void OnSendReady(object? sender, NetMQSocketEventArgs e) => _thread.Guarded("sending queued frames", () =>
    {
        while (_outbox.TryPeek(out var item))
        {
            if (!TrySend(item))
            {
                return;
            }

            // A frame that waited for room has left: the socket's queue was full, so the kernel's buffers behind it
            // were too, and room came only because the transmitter's side took bytes. That is a sign of life (see
            // OnTimer); a send into empty buffers is not one: a stopped transmitter's kernel takes those too.
            _lastTaken = Now();
            _outbox.Dequeue();
        }

        if (_link is { } link)
        {
            WatchSendReady(link, false);
        }

        FlushPublishes();
    });

    private void WatchSendReady(Link link, bool watch)
    {
        if (watch == _sendReadyWatched)
        {
            return;
        }

        _sendReadyWatched = watch;
        if (watch)
        {
            link.Dealer.SendReady += OnSendReady;
        }
        else
        {
            link.Dealer.SendReady -= OnSendReady;
        }
    }

    private static bool IsBinaryDeliveries(ReadOnlySpan<byte> frame) => frame.Length > FrameHeader.PayloadOffset && frame.StartsWith("B DLVR "u8);

    /// <summary>
    /// Takes a received frame's buffer out of the message without returning it to NetMQ's pool: the events read
    /// from it keep referring to it, so nothing is copied (a <see cref="Internal.FrameLease"/> gives it back once the
    /// handlers of its events have finished, or leaves it to the garbage collector).
    /// </summary>
    private static ArraySegment<byte> TakeBuffer(ref Msg msg)
    {
        if (!System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(msg.SliceAsMemory(), out var buffer))
        {
            buffer = msg.Slice().ToArray();
        }

        msg.InitEmpty(); // detaches the buffer (a received frame is never shared)
        return buffer;
    }

    private void ReleaseFrames()
    {
        _frame.Close();
        _body.Close();
        _extra.Close();
    }

    private static void Release(ref Msg msg)
    {
        msg.Close();
        msg.InitEmpty();
    }

    /// <summary>A frame waiting for the socket: a control frame, or a batch to give back to its queue once sent.</summary>
    private readonly record struct Outgoing(byte[]? Frame, FrameBatch? Batch, Internal.FrameQueue? Owner);

    /// <summary>One DEALER socket and its monitor: one attempt at a session with a transmitter.</summary>
    private sealed class Link(DealerSocket dealer, NetMQMonitor monitor, int number)
    {
        public DealerSocket Dealer { get; } = dealer;

        public NetMQMonitor Monitor { get; } = monitor;

        public int Number { get; } = number;

        /// <summary>True once <c>WLCM</c> came on this link.</summary>
        public bool Welcomed { get; set; }

        /// <summary>True while its TCP connection is up.</summary>
        public bool Connected { get; set; }

        /// <summary>When the <c>HELO</c> now waiting for an answer was sent (0: none waits).</summary>
        public long HelloSentAt { get; set; }

        /// <summary>The <c>ref</c> of the last <c>HELO</c> sent on this link (0: none).</summary>
        public long HelloRef { get; set; }
    }
}
