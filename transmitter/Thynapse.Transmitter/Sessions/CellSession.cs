using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// What a transmitter knows of one welcomed cell: who it is, how to reach it, what it caught, and what is
/// waiting to be sent to it. Owned by the routing thread.
/// </summary>
internal sealed class CellSession
{
    public CellSession(byte[] routingId, Thid id, string service, bool acceptsBinary, string resumeToken, long now)
    {
        RoutingId = routingId;
        Id = id;
        IdBytes = id.ToByteArray();
        IdHash = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(IdBytes);
        Service = service;
        AcceptsBinary = acceptsBinary;
        ResumeToken = resumeToken;
        LastSeen = now;
    }

    /// <summary>The ROUTER routing id of the cell's current connection.</summary>
    public byte[] RoutingId { get; }

    public Thid Id { get; }

    /// <summary>The 20-byte form of <see cref="Id"/>, copied into every delivery this cell publishes.</summary>
    public byte[] IdBytes { get; }

    /// <summary>64 bits of the (random) THID, for rendezvous hashing of keys.</summary>
    public ulong IdHash { get; }

    public string Service { get; }

    /// <summary>True when the cell said it reads <c>B DLVR</c> / <c>B ACPT</c>; otherwise it gets <c>J</c> frames.</summary>
    public bool AcceptsBinary { get; }

    /// <summary>The secret that lets a reconnecting cell take this session over (PROTOCOL.md §5.1).</summary>
    public string ResumeToken { get; }

    /// <summary>The cell's metadata, which targeted events and discovery filters match (PROTOCOL.md §4.6).</summary>
    public JObject Metadata { get; set; } = [];

    /// <summary>The cell's tags, for discovery.</summary>
    public string[] Tags { get; set; } = [];

    /// <summary>Timestamp of the last command received (from the transmitter's <see cref="TimeProvider"/>).</summary>
    public long LastSeen { get; set; }

    /// <summary>The highest seq seen from this cell; events published without a <c>seq</c> get the next one.</summary>
    public ulong AutoSequence { get; set; }

    public Dictionary<uint, Subscription> Subscriptions { get; } = [];

    /// <summary>Deliveries batched for this cell (binary cells only).</summary>
    public FrameBatch Deliveries { get; } = new(Command.Dlvr);

    /// <summary>Confirmations batched for this cell (binary cells only).</summary>
    public FrameBatch Accepts { get; } = new(Command.Acpt);

    /// <summary>Completion notices batched for this cell (binary cells only).</summary>
    public FrameBatch Completions { get; } = new(Command.Done);

    /// <summary>When this cell was last chosen for an anycatch delivery (a counter, not a time): ties go to the oldest.</summary>
    public long LastChosen { get; set; }

    /// <summary>True while this session is in the routing thread's list of sessions to flush.</summary>
    public bool Dirty { get; set; }

    /// <summary>Deliveries dropped for this cell and not yet reported to it with <c>SLOW</c>.</summary>
    public long UnreportedMissed { get; set; }

    /// <summary>Answers and confirmations dropped for this cell and not yet reported with <c>SLOW</c>.</summary>
    public long UnreportedReplies { get; set; }

    /// <summary>When the last <c>SLOW</c> went to this cell (routing time; 0: never).</summary>
    public long LastSlowNotice { get; set; }

    /// <summary>
    /// Frames waiting for room in this cell's queue (PROTOCOL.md §8.2); while any wait, everything else for the cell
    /// queues behind them so that it still arrives in order.
    /// </summary>
    public Queue<HeldFrame> Backlog { get; } = new();

    /// <summary>Bytes in <see cref="Backlog"/>.</summary>
    public long BacklogBytes { get; set; }

    /// <summary>When the backlog last shrank, or began (routing time).</summary>
    public long LastProgress { get; set; }

    /// <summary>When a send to this cell last found its queue full, with nothing taken since (routing time; 0: not full).</summary>
    public long FullSince { get; set; }

    /// <summary>
    /// Until this routing time a full queue drops instead of building a backlog: the cell took nothing from its
    /// backlog within the grace last time, so it is slow, not just momentarily behind.
    /// </summary>
    public long SlowUntil { get; set; }

    /// <summary>Slow verdicts in a row; each doubles the next pause.</summary>
    public int SlowStreak { get; set; }

    /// <summary>All deliveries dropped for this cell.</summary>
    public long TotalMissed { get; set; }

    /// <summary>Publishers (using credit) waiting for this cell's backlog to drain before they get more credit.</summary>
    public HashSet<CellSession> CreditWaiters { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>True when the cell asked for publishing credit (<c>HELO.credit</c>, PROTOCOL.md §8.4).</summary>
    public bool UsesCredit { get; init; }

    /// <summary>Credit the cell holds as the transmitter counts it: granted, minus what <see cref="CreditUsed"/> does not yet include.</summary>
    public long Credit { get; set; }

    /// <summary>Bytes of <c>EVNT</c> messages received since credit was last topped up.</summary>
    public long CreditUsed { get; set; }

    /// <summary>Credit granted but not yet sent (the cell's queue was full).</summary>
    public long CreditOwed { get; set; }

    /// <summary>Cells with a backlog this publisher waits for; it gets credit again only at zero.</summary>
    public int CreditBlocks { get; set; }

    /// <summary>True once the cell published: it then shares the credit pool.</summary>
    public bool HasPublished { get; set; }

    /// <summary>Set when the session is removed; plans still holding it skip it.</summary>
    public bool Closed { get; set; }

    /// <summary>Why the session ended (once <see cref="Closed"/>).</summary>
    public Commands.SessionEnd EndedBy { get; set; }

    /// <summary>When the session ended (routing time, once <see cref="Closed"/>).</summary>
    public long EndedAt { get; set; }

    public override string ToString() => $"{Service}/{Id}";
}
