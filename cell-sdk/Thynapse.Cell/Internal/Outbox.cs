using NetMQ;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Everything the cell sends, on its way into the current link's socket: control frames, and the frames of the publish
/// and acknowledgement buffers, paced by publishing credit (PROTOCOL.md §8.4). Socket thread.
/// </summary>
/// <remarks>
/// Frames go straight into the socket while it takes them; once it is at its high-water mark they wait here, in order,
/// and leave as it makes room (<c>SendReady</c>). Events and acknowledgements leave only while a session is open
/// (<see cref="Open"/>): those made without one wait in their buffers for the next welcome (issue 15, finding 2).
/// </remarks>
internal sealed class Outbox(SocketThread thread, PublishBuffer publishes, AckBuffer acks)
{
    private readonly Queue<Outgoing> _waiting = new();
    private Link? _link;
    private bool _open;
    private bool _leaving;
    private bool _sendReadyWatched;
    private long _credit;
    private Action? _flush;
    private bool _usesCredit;

    /// <summary>True while a link is attached (from its opening to its closing).</summary>
    public bool HasLink => _link is not null;

    /// <summary>True while the session is open: welcomed, and the cell connected (see <see cref="Open"/>).</summary>
    public bool IsOpen => _open;

    /// <summary>When a frame that had waited for room in the socket last left (see <see cref="OnSendReady"/>).</summary>
    public long LastTaken { get; private set; }

    /// <summary>Any thread: events or acknowledgements were buffered; the socket thread sends them (see <see cref="Flush"/>).</summary>
    public void Wake() => thread.Post(_flush ??= Flush);

    /// <summary>A new link: frames go into its socket from now on (control frames at once; events once <see cref="Open"/>).</summary>
    public void Attach(Link link) => _link = link;

    /// <summary>
    /// The link closes: frames of the buffers it had not taken go back to them, to leave on the next link; control frames
    /// belonged to its session and are dropped with it.
    /// </summary>
    public void Detach()
    {
        if (_link is { } link)
        {
            WatchSendReady(link, false);
        }

        _link = null;
        _open = false;
        while (_waiting.TryDequeue(out var item))
        {
            if (item.Batch is { } batch)
            {
                item.Owner!.PutBack(batch);
            }
        }
    }

    /// <summary>
    /// The session is open (welcomed, and the cell is connected): with <paramref name="credit"/> from <c>WLCM</c> (null:
    /// the transmitter does not pace this cell), events start to leave.
    /// </summary>
    public void Open(long? credit)
    {
        _usesCredit = credit is not null;
        _credit = credit ?? 0;
        _open = true;
        Flush();
    }

    /// <summary><c>CRED</c>: more publishing credit (PROTOCOL.md §8.4); events that waited for it go out.</summary>
    public void AddCredit(long credit)
    {
        var before = _credit;
        _credit += credit;
        if (before <= 0 && _credit > 0)
        {
            Flush();
        }
    }

    /// <summary>Sends a control frame on the current link, or queues it behind earlier ones when the socket is at its high-water mark.</summary>
    public void Send(byte[] frame)
    {
        if (_link is not { } link)
        {
            return; // no session to say it in: whatever it was belongs to the one that was lost
        }

        var item = new Outgoing(frame, null, null);
        if (_waiting.Count > 0 || !TrySend(item))
        {
            _waiting.Enqueue(item);
            WatchSendReady(link, true);
        }
    }

    /// <summary>
    /// Sends buffered acknowledgements and events while the socket takes them, only while the session is open and,
    /// when the transmitter gives credit, while some is left.
    /// </summary>
    public void Flush()
    {
        if (!_open || _leaving)
        {
            return; // kept until the cell is welcomed (again); once it said GBYE, nothing follows it
        }

        Drain(acks, limited: false);
        Drain(publishes, limited: _usesCredit);
    }

    /// <summary>
    /// Before <c>GBYE</c>: everything buffered leaves ahead of it, credit or not (review finding 15). A transmitter takes
    /// events sent without credit (PROTOCOL.md §8.4), and this is their last chance: what the socket does not take now
    /// waits here, in front of the <c>GBYE</c>, for as long as disposal waits for the answer. Nothing is flushed after.
    /// </summary>
    public void Leave()
    {
        if (_open && _link is { } link)
        {
            Drain(acks, limited: false);
            Drain(publishes, limited: false);
            while (publishes.TakeNext() is { } batch)
            {
                _waiting.Enqueue(new Outgoing(null, batch, publishes));
                WatchSendReady(link, true);
            }
        }

        _leaving = true;
    }

    private void Drain(FrameQueue queue, bool limited)
    {
        while (_waiting.Count == 0 && (!limited || _credit > 0) && queue.TakeNext() is { } batch)
        {
            var item = new Outgoing(null, batch, queue);
            if (!TrySend(item))
            {
                _waiting.Enqueue(item);
                WatchSendReady(_link!, true);
                return;
            }
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
            if (ReferenceEquals(item.Owner, publishes))
            {
                _credit -= frame.Length;
            }

            item.Owner!.Release(item.Batch);
        }

        return sent;
    }

    private void OnSendReady(object? sender, NetMQSocketEventArgs e) => thread.Guarded("sending queued frames", () =>
    {
        while (_waiting.TryPeek(out var item))
        {
            if (!TrySend(item))
            {
                return;
            }

            // A frame that waited for room has left: the socket's queue was full, so the kernel's buffers behind it
            // were too, and room came only because the transmitter's side took bytes. That is a sign of life (the
            // session's liveness check); a send into empty buffers is not one: a stopped transmitter's kernel takes
            // those too (review finding 17b).
            LastTaken = thread.Now();
            _waiting.Dequeue();
        }

        if (_link is { } link)
        {
            WatchSendReady(link, false);
        }

        Flush();
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

    /// <summary>A frame waiting for the socket: a control frame, or a batch to give back to its queue once sent.</summary>
    private readonly record struct Outgoing(byte[]? Frame, FrameBatch? Batch, FrameQueue? Owner);
}
