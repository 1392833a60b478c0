namespace Thynapse.Core;

/// <summary>
/// The defaults PROTOCOL.md states (§5.2, §5.6, §8.1): what a transmitter announces unless configured otherwise, and
/// what a cell assumes until its <c>WLCM</c> says.
/// </summary>
public static class ProtocolDefaults
{
    /// <summary><c>WLCM.heartbeat</c>: milliseconds between two messages from a cell (1,000).</summary>
    public const int HeartbeatMs = 1000;

    /// <summary><c>WLCM.liveness</c>: milliseconds of silence after which either side considers the other gone (5,000).</summary>
    public const int LivenessMs = 5000;

    /// <summary><c>limits.frame</c>: bytes per frame (1 MiB).</summary>
    public const int MaxFrameBytes = 1024 * 1024;

    /// <summary><c>limits.header</c>: bytes per <c>J</c> header frame (64 KiB).</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    /// <summary><c>limits.subscriptions</c>: subscriptions per cell (10,000).</summary>
    public const int MaxSubscriptionsPerCell = 10_000;

    /// <summary><c>limits.metadata</c>: bytes of a cell's metadata as compact JSON (16 KiB).</summary>
    public const int MaxMetadataBytes = 16 * 1024;

    /// <summary><c>limits.queue</c>: acknowledged anycatch events a service may have waiting (100,000).</summary>
    public const int ServiceQueueLimit = 100_000;

    /// <summary><c>defaults.prefetch</c>: unacknowledged deliveries of an acknowledging subscription (64).</summary>
    public const int Prefetch = 64;

    /// <summary><c>defaults.ackTimeout</c>: milliseconds before an unanswered delivery is redelivered (30,000).</summary>
    public const int AckTimeoutMs = 30_000;

    /// <summary><c>defaults.maxAttempts</c>: attempts before an event is dead-lettered (5).</summary>
    public const int MaxAttempts = 5;
}
