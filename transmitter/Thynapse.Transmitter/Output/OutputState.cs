using Thynapse.Core;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Output;

/// <summary>
/// One local cell's output: the frames batched for it in the current burst, its backlog behind a full queue, what was
/// dropped for it and not yet told, and its publishing credit. Written by <see cref="CellOutput"/> and
/// <see cref="CreditPacer"/> only, on the routing thread (PROTOCOL.md §8.2, §8.4).
/// </summary>
internal sealed class OutputState
{
    /// <summary>Deliveries batched for this cell (binary cells only).</summary>
    public FrameBatch Deliveries { get; } = new(Command.Dlvr);

    /// <summary>Confirmations batched for this cell (binary cells only).</summary>
    public FrameBatch Accepts { get; } = new(Command.Acpt);

    /// <summary>Completion notices batched for this cell (binary cells only).</summary>
    public FrameBatch Completions { get; } = new(Command.Done);

    /// <summary>True while the cell is in the list of cells to flush at the end of the burst.</summary>
    public bool Dirty { get; set; }

    /// <summary>Deliveries dropped for this cell and not yet reported to it with <c>SLOW</c>.</summary>
    public long UnreportedMissed { get; set; }

    /// <summary>Answers and confirmations dropped for this cell and not yet reported with <c>SLOW</c>.</summary>
    public long UnreportedReplies { get; set; }

    /// <summary>When the last <c>SLOW</c> went to this cell (routing time; 0: never).</summary>
    public long LastSlowNotice { get; set; }

    /// <summary>All deliveries dropped for this cell.</summary>
    public long TotalMissed { get; set; }

    /// <summary>
    /// Frames waiting for room in this cell's queue (PROTOCOL.md §8.2); while any wait, everything else for the cell
    /// queues behind them so that it still arrives in order.
    /// </summary>
    public Queue<HeldFrame> Backlog { get; } = new();

    /// <summary>True while the cell is in the output's list of backlogged cells (so that no walk of it searches it).</summary>
    public bool InBacklogList { get; set; }

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

    /// <summary>Publishers (using credit) waiting for this cell's backlog to drain before they get more credit.</summary>
    public HashSet<LocalCell> CreditWaiters { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>True when the cell asked for publishing credit (<c>HELO.credit</c>, PROTOCOL.md §8.4).</summary>
    public bool UsesCredit { get; set; }

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
}
