using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

// Handlers of acknowledging anycatch subscriptions; the runtime (HandlerRuntime) and the answers (Acknowledgements) are engines.
public sealed partial class Cell
{
    /// <summary>Redelivered duplicates of already handled anycatch events that were acknowledged again without reaching observers.</summary>
    public long DuplicatesSuppressed => _acknowledgements.Duplicates;

    /// <summary>
    /// Handled events whose ack deadline passed: the handler's token was cancelled, or the event waited in this cell's
    /// buffer past it and was refused without running the handler (the transmitter had given it to another cell).
    /// </summary>
    public long HandlersTimedOut => _handlers.TimedOut;

    /// <summary>
    /// Acknowledgements (<c>ACKN</c>, <c>NACK</c>, <c>PROG</c>) of deliveries of a session that was lost before they could
    /// be sent: dropped, since the transmitter of the next session knows nothing of their tags (it redelivered those
    /// events, or will).
    /// </summary>
    public long StaleAcknowledgements => _acknowledgements.Stale;

    /// <summary>
    /// Events that waited in a handler's buffer when the cell or the subscription was disposed: not handled, and
    /// redelivered by the transmitter to another cell (they were refused, or their session ended with the cell).
    /// </summary>
    public long EventsLeftUnhandled => _handlers.LeftUnhandled;

    /// <summary>
    /// Anycatch deliveries that arrived for a subscription this cell had already ended; acknowledging ones were
    /// refused at once so another cell got them.
    /// </summary>
    public long LateDeliveries => _acknowledgements.Late;

    /// <summary>Callbacks registered on handlers' tokens that threw when the cell cancelled them (at a deadline, or stopping).</summary>
    internal long TokenCallbackFailures => _handlers.TokenCallbackFailures;

    /// <summary>The handlers' runtime (for subscriptions and events).</summary>
    internal HandlerRuntime Handlers => _handlers;

    /// <summary>The answers owed for acknowledging deliveries (for events).</summary>
    internal Acknowledgements Acknowledgements => _acknowledgements;

    /// <summary>
    /// Catches <paramref name="pattern"/> in anycatch mode with acknowledgements and runs <paramref name="handler"/>
    /// for each event: when it returns the event is acknowledged, when it throws it is refused and the transmitter
    /// redelivers it to another cell (PROTOCOL.md §4.5). Completes once the subscription is active.
    /// </summary>
    /// <remarks>
    /// <para>
    /// At most <see cref="HandlerOptions.MaxConcurrency"/> handlers run at a time: one (the default) on a thread the
    /// subscription owns, more on the thread pool; after an <c>await</c> a handler continues on the thread pool. A
    /// redelivered event this cell already handled is acknowledged again without running the handler twice (within each
    /// origin's latest <see cref="CellOptions.DeduplicationWindow"/> sequence numbers). The event's
    /// <see cref="Event.Body"/> is valid until the handler's task completes: the buffer it is a slice of is then reused,
    /// so copy what you keep.
    /// </para>
    /// <para>
    /// The handler's token is cancelled when the event's ack deadline passes (<see cref="HandlerOptions.AckTimeout"/>,
    /// counted from the event's arrival: by then the transmitter gives it to another cell) and when the subscription
    /// is disposed. A handler that needs longer calls <see cref="Event.InProgressAsync"/>, which starts the deadline
    /// again here and at the transmitter. An event that waited in this cell's buffer past its deadline is refused
    /// without running the handler. Disposing waits for running handlers up to <see cref="CellOptions.HandlerStopTimeout"/>;
    /// a handler that ignores its token is then abandoned (it may still finish, but its acknowledgement goes nowhere and
    /// the transmitter redelivers its event). Once disposing starts, no further buffered event is handled: they go to
    /// another cell (<see cref="EventsLeftUnhandled"/>).
    /// </para>
    /// </remarks>
    public Task<CellSubscription> HandleAsync(
        string pattern,
        Func<Event, CancellationToken, Task> handler,
        HandlerOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(handler);
        options ??= HandlerOptions.Default;
        options.Validate();
        var subscriptionOptions = new SubscriptionOptions
        {
            Acknowledge = true,
            Prefetch = options.Prefetch,
            AckTimeout = options.AckTimeout,
            MaxAttempts = options.MaxAttempts,
        };
        var subscribing = SubscribeAsync(pattern, Catch.Any, subscriptionOptions, handled: true, cancellationToken); // checks the rest
        return _handlers.StartAsync(subscribing, handler, options.MaxConcurrency);
    }

    /// <summary>Starts the handler loop of a confirmed subscription (see <see cref="HandlerRuntime.Start"/>).</summary>
    internal void StartHandler(CellSubscription subscription, Func<Event, CancellationToken, Task> handler, int concurrency) =>
        _handlers.Start(subscription, handler, concurrency);
}
