using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>Per-subscription options.</summary>
public sealed record SubscriptionOptions
{
    /// <summary>No options: the cell's and the transmitter's defaults.</summary>
    public static SubscriptionOptions Default { get; } = new();

    /// <summary>
    /// Events this subscription buffers for its observers before it drops and counts further multicatch events
    /// (default: null, meaning <see cref="CellOptions.SubscriptionBufferCapacity"/>). A delivery frame's events go in
    /// together and wake the observers once, at the end of the frame: keep it above a frame's events (a 32 KiB frame
    /// holds up to ~800 small ones), or the rest of a busy frame is dropped (anycatch: refused, so others get it).
    /// </summary>
    public int? BufferCapacity { get; init; }

    /// <summary>
    /// Anycatch only: acknowledge each event (<see cref="Event.AckAsync"/> / <see cref="Event.NackAsync"/>), making
    /// delivery at least once — an event not acknowledged in time, refused, or held by a cell that dies goes to another
    /// cell of the service (default: false, at most once). <see cref="Cell.HandleAsync"/> sets it.
    /// </summary>
    public bool Acknowledge { get; init; }

    /// <summary>With <see cref="Acknowledge"/>: events this cell may hold unacknowledged at once (default: null, the transmitter's 64).</summary>
    public int? Prefetch { get; init; }

    /// <summary>With <see cref="Acknowledge"/>: how long an event may stay unacknowledged before it is redelivered (default: null, the transmitter's 30 s).</summary>
    public TimeSpan? AckTimeout { get; init; }

    /// <summary>With <see cref="Acknowledge"/>: deliveries of one event before it goes to the dead-letter channel <c>$DLQ.&lt;service&gt;</c> (default: null, the transmitter's 5).</summary>
    public int? MaxAttempts { get; init; }

    internal void Validate(Catch mode)
    {
        if (BufferCapacity is < 1)
        {
            throw new ArgumentException("SubscriptionOptions.BufferCapacity: A subscription buffers at least one event.");
        }

        if (Acknowledge && mode != Catch.Any)
        {
            throw new ArgumentException("SubscriptionOptions.Acknowledge: Only anycatch subscriptions acknowledge their events.");
        }

        if (Prefetch is < MessageLimits.MinPrefetch or > MessageLimits.MaxPrefetch)
        {
            throw new ArgumentException("SubscriptionOptions.Prefetch: Prefetch is between 1 and 65535.");
        }

        if (AckTimeout is { } timeout && (timeout < TimeSpan.FromMilliseconds(MessageLimits.MinAckTimeoutMs) || timeout > TimeSpan.FromMilliseconds(MessageLimits.MaxAckTimeoutMs)))
        {
            throw new ArgumentException("SubscriptionOptions.AckTimeout: The ack timeout is between 10 ms and 1 hour.");
        }

        if (MaxAttempts is < MessageLimits.MinMaxAttempts or > MessageLimits.MaxMaxAttempts)
        {
            throw new ArgumentException("SubscriptionOptions.MaxAttempts: Attempts are between 1 and 1000.");
        }

        if (Acknowledge && BufferCapacity < (Prefetch ?? ProtocolDefaults.Prefetch))
        {
            throw new ArgumentException("SubscriptionOptions.BufferCapacity: An acknowledging subscription buffers at least its prefetch.");
        }
    }
}
