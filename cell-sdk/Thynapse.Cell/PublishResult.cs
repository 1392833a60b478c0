using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>What the transmitter did with an awaited publish.</summary>
public enum PublishStatus
{
    /// <summary>Routed to at least one receiver.</summary>
    Accepted,

    /// <summary>Accepted, but no cell caught the channel: nobody received it.</summary>
    NoReceiver,

    /// <summary>Every acknowledging anycatch receiver acknowledged it (<see cref="PublishAwait.Completion"/>).</summary>
    Completed,
}

/// <summary>The outcome of <see cref="Cell.PublishAsync(string, ReadOnlyMemory{byte}, PublishOptions?, CancellationToken)"/>.</summary>
/// <param name="Id">The event's THID.</param>
/// <param name="Sequence">The event's sequence number from this cell.</param>
/// <param name="Status">Whether anybody received it.</param>
/// <param name="Receivers">
/// How many deliveries the transmitter made: one per multicatch cell plus one per anycatch service, so a cell that
/// catches the channel both ways counts twice (PROTOCOL.md §5.4).
/// </param>
public readonly record struct PublishResult(Thid Id, ulong Sequence, PublishStatus Status, int Receivers);
