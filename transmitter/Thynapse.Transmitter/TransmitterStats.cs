namespace Thynapse.Transmitter;

/// <summary>A snapshot of a transmitter's counters (also published as metrics, meter <c>Thynapse.Transmitter</c>).</summary>
public sealed record TransmitterStats
{
    /// <summary>Events accepted from cells.</summary>
    public long EventsReceived { get; init; }

    /// <summary>Events refused with <c>ERRR</c>.</summary>
    public long EventsRejected { get; init; }

    /// <summary>Accepted events that matched no receiver.</summary>
    public long EventsWithoutReceiver { get; init; }

    /// <summary>Events handed to a cell's queue.</summary>
    public long Deliveries { get; init; }

    /// <summary>Deliveries dropped because the cell's queue was full or the cell was gone (the cell is told with <c>SLOW</c>).</summary>
    public long DeliveriesDropped { get; init; }

    /// <summary>Confirmations dropped because the publisher's queue was full.</summary>
    public long ConfirmationsDropped { get; init; }

    /// <summary>Control replies dropped because the cell's queue was full.</summary>
    public long RepliesDropped { get; init; }

    /// <summary><c>ERRR</c> replies sent.</summary>
    public long ProtocolErrors { get; init; }

    /// <summary>Cells welcomed since start.</summary>
    public long CellsJoined { get; init; }

    /// <summary>Cells that said <c>GBYE</c>.</summary>
    public long CellsLeft { get; init; }

    /// <summary>Cells dropped after the liveness timeout.</summary>
    public long CellsExpired { get; init; }

    /// <summary>Cells whose connection closed.</summary>
    public long CellsDisconnected { get; init; }

    /// <summary>Cells with a session now.</summary>
    public long Cells { get; init; }

    /// <summary>Subscriptions now.</summary>
    public long Subscriptions { get; init; }
}
