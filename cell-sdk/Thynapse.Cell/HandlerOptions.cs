namespace Thynapse.Cell;

/// <summary>Options of <see cref="Cell.HandleAsync"/>.</summary>
public sealed record HandlerOptions
{
    /// <summary>The defaults.</summary>
    public static HandlerOptions Default { get; } = new();

    /// <summary>Handlers running at once (default: 1, one event after the other).</summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>Events this cell may hold unacknowledged (default: null, the transmitter's 64).</summary>
    public int? Prefetch { get; init; }

    /// <summary>How long a handler may take before the event is redelivered elsewhere (default: null, the transmitter's 30 s).</summary>
    public TimeSpan? AckTimeout { get; init; }

    /// <summary>Deliveries of one event before it is dead-lettered (default: null, the transmitter's 5).</summary>
    public int? MaxAttempts { get; init; }

    internal void Validate() => ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrency, 1);
}
