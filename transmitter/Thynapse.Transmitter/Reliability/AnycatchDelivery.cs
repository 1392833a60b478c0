using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// One acknowledging anycatch delivery of one event to one service, across its attempts: in flight to a cell
/// (<see cref="Holder"/> set, known by <see cref="Tag"/>), or queued waiting for a cell with room. Recycled by
/// <see cref="ReliabilityPool"/> when it ends.
/// </summary>
internal sealed class AnycatchDelivery
{
    public PendingEvent Event { get; private set; } = null!;

    public string Service { get; private set; } = "";

    /// <summary>The tag of the current attempt (a new one per attempt, so late acks of old attempts are told apart).</summary>
    public ulong Tag { get; set; }

    /// <summary>The subscription holding the current attempt; null while queued.</summary>
    public Subscription? Holder { get; set; }

    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; set; }

    /// <summary>When the current attempt times out (transmitter clock).</summary>
    public long Deadline { get; set; }

    /// <summary>The cell a keyed event waits for (its rendezvous winner had no room); null for any cell.</summary>
    public Receiver? Pinned { get; set; }

    /// <summary>The cell of the last attempt, avoided by the next one while the service has other cells.</summary>
    public Receiver? LastCell { get; set; }

    /// <summary>Why the last attempt ended (for dead letters).</summary>
    public string LastFailure { get; set; } = "";

    /// <summary>The list it is in (its holder's in-flight list or its service's queue), and its neighbours there.</summary>
    public DeliveryList? List { get; set; }

    public AnycatchDelivery? Previous { get; set; }

    public AnycatchDelivery? Next { get; set; }

    public void Init(PendingEvent pending, string service)
    {
        Event = pending;
        Service = service;
        pending.AddReference();
    }

    /// <summary>Forgets everything (it is in no list by now).</summary>
    public void Clear()
    {
        Event = null!;
        Service = "";
        Tag = 0;
        Holder = null;
        Attempts = 0;
        Deadline = 0;
        Pinned = null;
        LastCell = null;
        LastFailure = "";
        List = null;
        Previous = Next = null;
    }
}
