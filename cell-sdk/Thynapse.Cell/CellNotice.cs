using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>Kinds of <see cref="CellNotice"/>.</summary>
public enum CellNoticeKind
{
    /// <summary>A subscription's buffer was full: <see cref="CellNotice.Count"/> events were dropped here.</summary>
    SlowConsumer,

    /// <summary>
    /// The transmitter dropped <see cref="CellNotice.Count"/> events for this cell: because it did not keep up (<c>SLOW</c>),
    /// or while its session had ended and until it re-joined (<c>WLCM.resumed</c>). A <c>SLOW</c> that reports only dropped
    /// answers and confirmations gives a count of 0.
    /// </summary>
    MissedEvents,

    /// <summary>A fire-and-forget publish was refused (<see cref="CellNotice.Code"/>, <see cref="CellNotice.Sequence"/>).</summary>
    PublishRejected,

    /// <summary>The transmitter reported an error not tied to a request of ours.</summary>
    TransmitterError,

    /// <summary>The session was lost; the cell is re-joining.</summary>
    ConnectionLost,

    /// <summary>The cell is welcomed again, with its subscriptions (<see cref="CellNotice.Transmitter"/> names the transmitter).</summary>
    Reconnected,

    /// <summary>An observer threw from <c>OnNext</c>; the exception is in <see cref="CellNotice.Exception"/>.</summary>
    ObserverFailed,

    /// <summary>A handler (<see cref="Cell.HandleAsync"/>) threw; the event was refused (<c>NACK</c>) for redelivery.</summary>
    HandlerFailed,

    /// <summary>
    /// A handled event's ack deadline passed: the handler's token was cancelled, or the event waited for the handler past
    /// it and was refused without running (the transmitter redelivers it elsewhere).
    /// </summary>
    HandlerTimedOut,

    /// <summary>
    /// The cell re-joined a different transmitter than the one it lost (failover, or a shutting-down transmitter's
    /// hand-over), with the same THID, metadata and subscriptions; <see cref="CellNotice.Transmitter"/> names the new one.
    /// Follows the <see cref="Reconnected"/> notice of the same welcome.
    /// </summary>
    Moved,
}

/// <summary>Something that happened to a cell that its application may want to know: drops, rejections, reconnects.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Message">A sentence for logs.</param>
public sealed record CellNotice(CellNoticeKind Kind, string Message)
{
    /// <summary>Events dropped or missed, for the kinds that count.</summary>
    public long Count { get; init; }

    /// <summary>The transmitter's error code, for rejections and errors.</summary>
    public ThynapseErrorCode Code { get; init; }

    /// <summary>The pattern of the subscription concerned, if any.</summary>
    public string? Pattern { get; init; }

    /// <summary>The sequence number of the event concerned, if any.</summary>
    public ulong? Sequence { get; init; }

    /// <summary>The transmitter concerned (for <see cref="CellNoticeKind.Reconnected"/> and <see cref="CellNoticeKind.Moved"/>: the one that welcomed the cell), if any.</summary>
    public Thid? Transmitter { get; init; }

    /// <summary>The exception concerned, if any.</summary>
    public Exception? Exception { get; init; }
}
