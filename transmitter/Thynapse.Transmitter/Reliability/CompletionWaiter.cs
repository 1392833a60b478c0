using Thynapse.Core;

namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// A publisher waiting for one event's completion (PROTOCOL.md §5.14): told with <c>DONE</c> once every
/// acknowledging anycatch delivery of it has been acknowledged or dead-lettered.
/// </summary>
internal sealed class CompletionWaiter(Thid origin, ulong sequence)
{
    public Thid Origin { get; } = origin;

    public ulong Sequence { get; } = sequence;

    /// <summary>Deliveries not yet acknowledged or dead-lettered.</summary>
    public int Outstanding { get; set; }

    /// <summary>Receivers the event was routed to.</summary>
    public uint Receivers { get; set; }

    public CompletionOutcome Outcome { get; set; } = CompletionOutcome.Completed;

    /// <summary>The first dead letter of the event (which service gave up, why), for <c>DONE</c>.</summary>
    public DeadLetter? DeadLetter { get; set; }

    /// <summary>Set once <c>DONE</c> was sent.</summary>
    public bool Done { get; set; }
}
