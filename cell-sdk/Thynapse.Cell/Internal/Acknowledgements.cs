using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The answers a cell owes for acknowledging anycatch deliveries (PROTOCOL.md §4.5): <c>ACKN</c> through the
/// <see cref="AckBuffer"/>, <c>NACK</c> and <c>PROG</c> through the socket thread, each only in the session that gave its
/// tag; and the window of events handled recently, so that a redelivered duplicate is acknowledged again without being
/// handled twice. Any thread; the session is changed by the socket thread.
/// </summary>
internal sealed class Acknowledgements(SocketThread thread, Outbox outbox, AckBuffer acks, int deduplicationWindow)
{
    private readonly CompletedWindow _completed = new(deduplicationWindow);
    private int _session;
    private long _defaultAckTimeoutMs = ProtocolDefaults.AckTimeoutMs;
    private volatile bool _stopping;
    private long _duplicates;
    private long _late;
    private long _stale;

    /// <summary>The number of the link whose session is current (0 while there is none): delivery tags belong to it.</summary>
    public int Session => Volatile.Read(ref _session);

    /// <summary>The transmitter's default ack timeout (<c>WLCM.defaults.ackTimeout</c>), for subscriptions that name none.</summary>
    public long DefaultAckTimeoutMs
    {
        get => Volatile.Read(ref _defaultAckTimeoutMs);
        set => Volatile.Write(ref _defaultAckTimeoutMs, value);
    }

    /// <summary>Redelivered duplicates of handled events, acknowledged again without reaching observers or handlers.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Deliveries for subscriptions already ended here.</summary>
    public long Late => Interlocked.Read(ref _late);

    /// <summary>Answers dropped because the session of their tag was gone (review finding 10).</summary>
    public long Stale => Interlocked.Read(ref _stale) + acks.Stale;

    /// <summary>Socket thread: the session of link <paramref name="number"/> was welcomed; its tags are answered from now on.</summary>
    public void BeginSession(int number)
    {
        acks.BeginSession(number);
        Volatile.Write(ref _session, number);
    }

    /// <summary>Socket thread, after its link closed: the session was lost; the transmitter redelivers what it held.</summary>
    public void EndSession()
    {
        Volatile.Write(ref _session, 0);
        acks.EndSession();
    }

    /// <summary>The cell is being disposed: refusals go nowhere (the end of the session redelivers what was held).</summary>
    public void Stop() => _stopping = true;

    /// <summary>The ack timeout of an acknowledging subscription in milliseconds: its own, or the transmitter's default.</summary>
    public long AckTimeoutOf(CellSubscription subscription) =>
        subscription.Options.AckTimeout is { } own ? (long)own.TotalMilliseconds : DefaultAckTimeoutMs;

    /// <summary>True when this cell handled the event of <paramref name="origin"/> and <paramref name="sequence"/> recently.</summary>
    public bool Handled(Thid origin, ulong sequence) => _completed.Contains(origin, sequence);

    /// <summary>
    /// Any thread: acknowledges a tag and remembers the event as handled (<paramref name="quiet"/>: see
    /// <see cref="AckBuffer.Append"/>). The buffer checks the session under its lock: after a re-join the transmitter
    /// knows nothing of the tag, and would take it for another delivery or refuse it.
    /// </summary>
    public void Acknowledge(ulong tag, Thid origin, ulong sequence, int session, bool quiet = false)
    {
        _completed.Add(origin, sequence);
        acks.Append(tag, session, quiet);
    }

    /// <summary>Any thread: a duplicate of a handled event: acknowledged again, and counted.</summary>
    public void AcknowledgeDuplicate(ulong tag, int session, bool quiet = false)
    {
        Interlocked.Increment(ref _duplicates);
        acks.Append(tag, session, quiet);
    }

    /// <summary>Any thread: refuses a tag (<c>NACK</c>), so that the transmitter redelivers it.</summary>
    public void Refuse(ulong tag, string? reason, int session)
    {
        if (_stopping)
        {
            return; // leaving: the transmitter redelivers what was held anyway
        }

        if (session != Session)
        {
            Interlocked.Increment(ref _stale); // its session is gone, and with it what the transmitter held
            return;
        }

        thread.Post(() => SendForSession(session, new NackMessage(tag, reason ?? "refused")));
    }

    /// <summary>Any thread: the event of <paramref name="tag"/> is still being handled (<c>PROG</c>); false when its session is gone.</summary>
    public bool InProgress(ulong tag, int session)
    {
        if (session != Session)
        {
            Interlocked.Increment(ref _stale);
            return false;
        }

        thread.Post(() => SendForSession(session, new ProgressMessage(tag, null)));
        return true;
    }

    /// <summary>Socket thread: a delivery for a subscription that has ended here: an acknowledging one goes straight back.</summary>
    public void LateDelivery(ulong tag)
    {
        Interlocked.Increment(ref _late);
        if (tag != 0)
        {
            Refuse(tag, "the subscription has ended", Session);
        }
    }

    /// <summary>Wakes the socket thread for quiet acknowledgements (a closing cell has no socket left to wake).</summary>
    public void SendQuiet()
    {
        try
        {
            acks.WakeIfPending();
        }
        catch (ObjectDisposedException)
        {
            // The cell is being disposed; the transmitter redelivers whatever was not acknowledged.
        }
    }

    /// <summary>
    /// Socket thread: sends a <c>NACK</c> or <c>PROG</c> only if the session its tag was given in is still the current
    /// one. The caller checked on its own thread, but the session may have been lost (and a new one begun) before the
    /// socket thread came to it: the next session's transmitter would take the tag for another delivery, or refuse it.
    /// </summary>
    private void SendForSession<T>(int session, T message)
        where T : IJsonMessage
    {
        if (session != _session || !outbox.HasLink)
        {
            Interlocked.Increment(ref _stale);
            return;
        }

        outbox.Send(JsonMessage.ToFrame(message));
    }
}
