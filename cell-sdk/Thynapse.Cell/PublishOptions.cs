namespace Thynapse.Cell;

/// <summary>What an awaited publish waits for.</summary>
public enum PublishAwait
{
    /// <summary>The transmitter accepted and routed the event.</summary>
    Acceptance,

    /// <summary>
    /// Every acknowledging anycatch receiver acknowledged it (or it was dead-lettered, which fails the publish). The
    /// cell keeps the event and resends it if its session is lost before the outcome is known.
    /// </summary>
    Completion,
}

/// <summary>Per-publish options.</summary>
public sealed record PublishOptions
{
    /// <summary>No options.</summary>
    public static PublishOptions Default { get; } = new();

    /// <summary>
    /// A key for anycatch: events with the same key go to the same cell of a service while it lives
    /// (default: null). At most 1,024 bytes of UTF-8.
    /// </summary>
    public string? Key { get; init; }

    /// <summary>What <c>PublishAsync</c> waits for (default: <see cref="PublishAwait.Acceptance"/>).</summary>
    public PublishAwait Await { get; init; } = PublishAwait.Acceptance;

    /// <summary>
    /// A metadata query receivers must match (PROTOCOL.md §11), e.g. <c>{"guilds": {"$contains": 123}}</c>; with a
    /// selector (<c>"$min": "load"</c>) each service's one best cell receives it (default: null, everybody who catches
    /// the channel).
    /// </summary>
    public Newtonsoft.Json.Linq.JObject? Target { get; init; }

    /// <summary>Only cells of this service receive the event (default: null, every service).</summary>
    public string? Service { get; init; }

    /// <summary>
    /// Make <c>PublishAsync</c> throw <see cref="ThynapseNoReceiverException"/> when nobody received the event, instead
    /// of returning <see cref="PublishStatus.NoReceiver"/> (default: false).
    /// </summary>
    public bool ThrowOnNoReceiver { get; init; }
}
