using Newtonsoft.Json.Linq;
using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

public sealed partial class Cell
{
    /// <summary>Quiet acknowledgements a serial handler loop sends together at most.</summary>
    private const int AckRun = 64;

    /// <summary>The longest a serial handler loop keeps a quiet acknowledgement before sending it.</summary>
    private static readonly TimeSpan AckDelay = TimeSpan.FromMilliseconds(1);

    private readonly ThrottledWarning _tokenCallbackFailures;
    private readonly AckBuffer _acks;
    private long _defaultAckTimeoutMs = 30_000;

    /// <summary>The number of the link whose session is current (0 while there is none): delivery tags belong to it.</summary>
    private int _session;
    private long _handlersTimedOut;
    private CompletedWindow? _completedWindow;
    private long _duplicatesSuppressed;
    private long _lateDeliveries;
    private long _staleAnswers;
    private long _leftUnhandled;

    /// <summary>Redelivered duplicates of already handled anycatch events that were acknowledged again without reaching observers.</summary>
    public long DuplicatesSuppressed => Interlocked.Read(ref _duplicatesSuppressed);

    /// <summary>
    /// Handled events whose ack deadline passed: the handler's token was cancelled, or the event waited in this cell's
    /// buffer past it and was refused without running the handler (the transmitter had given it to another cell).
    /// </summary>
    public long HandlersTimedOut => Interlocked.Read(ref _handlersTimedOut);

    /// <summary>
    /// Acknowledgements (<c>ACKN</c>, <c>NACK</c>, <c>PROG</c>) of deliveries of a session that was lost before they could
    /// be sent: dropped, since the transmitter of the next session knows nothing of their tags (it redelivered those
    /// events, or will).
    /// </summary>
    public long StaleAcknowledgements => Interlocked.Read(ref _staleAnswers) + _acks.Stale;

    /// <summary>
    /// Events that waited in a handler's buffer when the cell or the subscription was disposed: not handled, and
    /// redelivered by the transmitter to another cell (they were refused, or their session ended with the cell).
    /// </summary>
    public long EventsLeftUnhandled => Interlocked.Read(ref _leftUnhandled);

    /// <summary>
    /// Anycatch deliveries that arrived for a subscription this cell had already ended; acknowledging ones were
    /// refused at once so another cell got them.
    /// </summary>
    public long LateDeliveries => Interlocked.Read(ref _lateDeliveries);


    private CompletedWindow _completed => _completedWindow ??= new CompletedWindow(_options.DeduplicationWindow);

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
        return StartHandlerAsync(subscribing, handler, options.MaxConcurrency);
    }

    private async Task<CellSubscription> StartHandlerAsync(Task<CellSubscription> subscribing, Func<Event, CancellationToken, Task> handler, int concurrency)
    {
        var subscription = await subscribing.ConfigureAwait(false);
        StartHandler(subscription, handler, concurrency);
        return subscription;
    }

    /// <summary>
    /// Starts the handler loop of a confirmed subscription, and its watchdog unless the cell or the subscription is
    /// already stopping (review finding 12: this runs as a continuation, possibly after disposing has begun, and a
    /// watchdog made then was never disposed). Stopping and starting each look at the other after their own step, so
    /// at least one of them disposes a watchdog that exists (disposing twice is harmless).
    /// </summary>
    internal void StartHandler(CellSubscription subscription, Func<Event, CancellationToken, Task> handler, int concurrency)
    {
        subscription.Slots = [.. Enumerable.Range(0, concurrency).Select(_ => new HandlerSlot(ex => TokenCallbackFailed(ex, subscription), subscription.Stopping.Token))];
        if (!StopsTakingEvents(subscription))
        {
            var period = TimeSpan.FromMilliseconds(Math.Clamp(AckTimeoutOf(subscription) / 8, 5, 1000));
            var watchdog = new Timer(_ => WatchHandlers(subscription), null, period, period);
            subscription.Watchdog = watchdog;
            if (StopsTakingEvents(subscription))
            {
                subscription.Watchdog = null;
                watchdog.Dispose();
            }
        }

        // The loop starts even when stopping: it leaves what is buffered unhandled, and ends with the buffer.
        subscription.Handler = concurrency == 1
            ? Task.Factory.StartNew(() => RunSerialHandler(subscription, handler), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : Task.Run(() => RunConcurrentHandlersAsync(subscription, handler, concurrency), CancellationToken.None);
    }

    /// <summary>The ack timeout of an acknowledging subscription in milliseconds: its own, or the transmitter's default (<c>WLCM.defaults</c>).</summary>
    private long AckTimeoutOf(CellSubscription subscription) =>
        subscription.Options.AckTimeout is { } own ? (long)own.TotalMilliseconds : Volatile.Read(ref _defaultAckTimeoutMs);

    /// <summary>Timer thread: cancels the tokens of handlers past their events' deadlines.</summary>
    private void WatchHandlers(CellSubscription subscription)
    {
        var now = Environment.TickCount64;
        foreach (var slot in subscription.Slots)
        {
            if (slot.CancelIfLate(now))
            {
                Interlocked.Increment(ref _handlersTimedOut);
            }
        }
    }

    /// <summary>Callbacks registered on handlers' tokens that threw when the cell cancelled them (at a deadline, or stopping).</summary>
    internal long TokenCallbackFailures => _tokenCallbackFailures.Count;

    /// <summary>
    /// Any thread: cancels a subscription's handlers (disposing it, or the cell). Callbacks the handlers registered on
    /// their tokens run now; one that throws is logged, and stopping goes on.
    /// </summary>
    internal async Task CancelHandlersAsync(CellSubscription subscription)
    {
        try
        {
            await subscription.Stopping.CancelAsync().ConfigureAwait(false);
        }
        catch (AggregateException ex)
        {
            TokenCallbackFailed(ex, subscription);
        }
    }

    /// <summary>Any thread: a callback on a handler's token threw when the cell cancelled it; the application's bug, logged (within limits).</summary>
    private void TokenCallbackFailed(Exception ex, CellSubscription subscription) => _tokenCallbackFailures.Warn(ex, subscription.Pattern);

    /// <summary>How long disposing waits for running handlers (<see cref="CellOptions.HandlerStopTimeout"/>).</summary>
    internal TimeSpan HandlerStopTimeout => _options.HandlerStopTimeout;

    /// <summary>A handler did not stop within <see cref="HandlerStopTimeout"/>: say so.</summary>
    internal void HandlerAbandoned(CellSubscription subscription) =>
        _log.Warning("The handler of {Pattern} did not finish within {Timeout} of being stopped; it is abandoned, and the transmitter redelivers its events",
            subscription.Pattern, _options.HandlerStopTimeout);

    /// <summary>Any thread: a handler's event is still in progress: its deadline starts again here and at the transmitter (<c>PROG</c>).</summary>
    internal void InProgress(CellSubscription subscription, ulong tag, int session)
    {
        if (session != Volatile.Read(ref _session))
        {
            Interlocked.Increment(ref _staleAnswers);
            return;
        }

        var deadline = Environment.TickCount64 + AckTimeoutOf(subscription);
        foreach (var slot in subscription.Slots)
        {
            slot.Extend(tag, deadline);
        }

        Work(() => SendForSession(session, Command.Prog, new JObject { ["tag"] = tag }));
    }

    /// <summary>
    /// Socket thread: sends a <c>NACK</c> or <c>PROG</c> only if the session its tag was given in is still the current
    /// one. The caller checked on its own thread, but the session may have been lost (and a new one begun) before the
    /// socket thread came to it: the next session's transmitter would take the tag for another delivery, or refuse it.
    /// </summary>
    private void SendForSession(int session, Command command, JObject payload)
    {
        if (session != _session || _link is not { Welcomed: true })
        {
            Interlocked.Increment(ref _staleAnswers);
            return;
        }

        Send(JsonPayload.Frame(command, payload));
    }

    /// <summary>
    /// Disposing: cancels the handlers' tokens and waits for them, up to <see cref="CellOptions.HandlerStopTimeout"/> in
    /// all; those still running are abandoned (said in the log: the transmitter redelivers their events).
    /// </summary>
    private async Task StopHandlersAsync(IReadOnlyList<CellSubscription> subscriptions)
    {
        var running = new List<(CellSubscription Subscription, Task Handler)>();
        foreach (var subscription in subscriptions)
        {
            await CancelHandlersAsync(subscription).ConfigureAwait(false);
            if (subscription.Handler is { IsCompleted: false } handler)
            {
                running.Add((subscription, handler));
            }
            else if (subscription.Watchdog is { } watchdog)
            {
                await watchdog.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (running.Count == 0)
        {
            return;
        }

        var all = Task.WhenAll(running.Select(r => r.Handler));
        if (await Task.WhenAny(all, Task.Delay(_options.HandlerStopTimeout)).ConfigureAwait(false) != all)
        {
            foreach (var (subscription, _) in running.Where(r => !r.Handler.IsCompleted))
            {
                HandlerAbandoned(subscription);
            }
        }

        foreach (var (subscription, _) in running)
        {
            subscription.Watchdog?.Dispose();
        }
    }

    /// <summary>Any thread: acknowledges a tag and remembers the event as handled (<paramref name="quiet"/>: see <see cref="AckBuffer.Append"/>).</summary>
    /// <remarks>
    /// The tag is sent only if the session it was given in is still the cell's: after a re-join the transmitter knows
    /// nothing of it (it redelivers what the lost session held), and would refuse it as UNKNOWN_DELIVERY.
    /// </remarks>
    internal void Acknowledge(ulong tag, Thid origin, ulong sequence, int session, bool quiet = false)
    {
        _completed.Add(origin, sequence);
        _acks.Append(tag, session, quiet); // checks the session under the buffer's lock (see AckBuffer)
    }

    /// <summary>Any thread: refuses a tag (<c>NACK</c>), so that the transmitter redelivers it.</summary>
    internal void Refuse(ulong tag, string? reason, int session)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return; // leaving: the transmitter redelivers what was held anyway
        }

        if (session != Volatile.Read(ref _session))
        {
            Interlocked.Increment(ref _staleAnswers); // its session is gone, and with it what the transmitter held
            return;
        }

        Work(() => SendForSession(session, Command.Nack, new JObject { ["tag"] = tag, ["reason"] = reason ?? "refused" }));
    }

    /// <summary>Wakes the socket thread for the quiet acknowledgements (a closing cell has no socket left to wake).</summary>
    private void SendQuietAcks()
    {
        try
        {
            _acks.WakeIfPending();
        }
        catch (ObjectDisposedException)
        {
            // The cell is being disposed; the transmitter redelivers whatever was not acknowledged.
        }
    }

    /// <summary>
    /// Any thread: once the cell is being disposed (or the subscription is), handlers take no more events from the
    /// buffer: their acknowledgements could go nowhere (review finding 11).
    /// </summary>
    private bool StopsTakingEvents(CellSubscription subscription) =>
        Volatile.Read(ref _disposed) != 0 || subscription.Stopping.IsCancellationRequested;

    /// <summary>
    /// A stopped handler loop, until its buffer is completed (the subscription or the cell is closing, so that is soon):
    /// the events still buffered, and any that still arrive, are not handled. Counted, their frames given back, and
    /// refused, so that the transmitter redelivers them at once while the cell still has its session (when the cell
    /// itself is closing, the end of its session does that).
    /// </summary>
    private int LeaveBuffered(CellSubscription subscription)
    {
        var left = 0;
        while (subscription.Queue.Ring.TryRead(out var e))
        {
            LeaveUnhandled(e);
            left++;
        }

        return left;
    }

    /// <summary>One event a stopped handler does not run (see <see cref="LeaveBuffered"/>).</summary>
    private void LeaveUnhandled(in Event e)
    {
        Interlocked.Increment(ref _leftUnhandled);
        Refuse(e.Tag, "its handler stopped before taking it", e.Session);
        e.ReturnFrame();
    }

    /// <summary>Says how many buffered events a stopped handler left (the transmitter redelivers them).</summary>
    private void ReportLeftUnhandled(CellSubscription subscription, int left)
    {
        if (left > 0)
        {
            _log.Information("The handler of {Pattern} stopped with {Count} events buffered and not handled; the transmitter redelivers them", subscription.Pattern, left);
        }
    }

    /// <summary>
    /// One handler at a time, on a thread of its own that sleeps on the subscription's ring between delivery frames.
    /// </summary>
    /// <remarks>
    /// Measured on the acknowledged-anycatch bench (2 cores, 6 processes): a loop on the thread pool woke a pool
    /// worker per frame, and the pool's workers spun (sched_yield) around each wake-up for about as long as they
    /// worked; a thread that blocks without spinning leaves that CPU to the socket and I/O threads. A handler that
    /// awaits continues on the thread pool, and this thread waits for it.
    /// </remarks>
    private void RunSerialHandler(CellSubscription subscription, Func<Event, CancellationToken, Task> handler)
    {
        Thread.CurrentThread.Name = $"thynapse-handler {subscription.Pattern}";
        var reader = subscription.Queue.Ring;
        var slot = subscription.Slots[0];
        var left = 0;
        try
        {
            while (!StopsTakingEvents(subscription) && reader.WaitToRead())
            {
                var quietAcks = 0;
                var firstQuiet = 0L;
                while (!StopsTakingEvents(subscription) && reader.TryRead(out var e))
                {
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var running = HandleOneAsync(subscription, handler, e, slot, quiet: true);
                    var wentAsync = !running.IsCompleted;
                    running.GetAwaiter().GetResult(); // it does not throw: failures are refused and noticed inside

                    // The acknowledgements leave together: when the buffer is drained, after a handler that waited or
                    // took a millisecond or more, every AckRun events, or a millisecond after the first. One frame then
                    // carries many, and the transmitter refills the prefetch window in runs too; a slow handler's
                    // acknowledgement never waits for the next handler.
                    firstQuiet = quietAcks++ == 0 ? started : firstQuiet;
                    if (wentAsync || quietAcks >= AckRun || reader.Count == 0
                        || System.Diagnostics.Stopwatch.GetElapsedTime(firstQuiet) >= AckDelay)
                    {
                        SendQuietAcks();
                        quietAcks = 0;
                    }
                }

                SendQuietAcks();
            }

            while (reader.WaitToRead())
            {
                left += LeaveBuffered(subscription);
            }
        }
        catch (OperationCanceledException)
        {
            // The subscription ended.
        }

        ReportLeftUnhandled(subscription, left);
    }

    /// <summary>Up to <paramref name="concurrency"/> handlers at once on the thread pool, each acknowledging as it finishes.</summary>
    private async Task RunConcurrentHandlersAsync(CellSubscription subscription, Func<Event, CancellationToken, Task> handler, int concurrency)
    {
        var reader = subscription.Queue.Ring;
        using var slots = new SemaphoreSlim(concurrency);
        var free = new System.Collections.Concurrent.ConcurrentQueue<HandlerSlot>(subscription.Slots);
        var left = 0;
        try
        {
            while (!StopsTakingEvents(subscription) && await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (!StopsTakingEvents(subscription) && reader.TryRead(out var e))
                {
                    await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    if (StopsTakingEvents(subscription))
                    {
                        // It stopped while this event waited for a slot: left unhandled, with the rest below.
                        slots.Release();
                        LeaveUnhandled(e);
                        left++;
                        break;
                    }

                    free.TryDequeue(out var slot);
                    _ = ReleaseAfter(HandleOneAsync(subscription, handler, e, slot!, quiet: false), slots, free, slot!);
                }
            }

            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                left += LeaveBuffered(subscription);
            }
        }
        catch (OperationCanceledException)
        {
            // The subscription ended.
        }

        // Let the handlers still running finish (their acks go out if the cell is still here).
        for (var i = 0; i < concurrency; i++)
        {
            await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        ReportLeftUnhandled(subscription, left);

        static async Task ReleaseAfter(Task running, SemaphoreSlim slots, System.Collections.Concurrent.ConcurrentQueue<HandlerSlot> free, HandlerSlot slot)
        {
            try
            {
                await running.ConfigureAwait(false);
            }
            finally
            {
                free.Enqueue(slot);
                slots.Release();
            }
        }
    }

    /// <summary>
    /// Runs the handler on one event and acknowledges it, or refuses it (and notices) when the handler throws, when its
    /// token was cancelled at the event's deadline, or when the deadline passed before it could start.
    /// </summary>
    private async Task HandleOneAsync(CellSubscription subscription, Func<Event, CancellationToken, Task> handler, Event e, HandlerSlot slot, bool quiet)
    {
        try
        {
            // A redelivery that arrived while the first attempt was still being handled is caught here.
            if (_completed.Contains(e.Origin, e.Sequence))
            {
                Interlocked.Increment(ref _duplicatesSuppressed);
                e.Acknowledge(quiet);
                return;
            }

            var deadline = (e.ReceivedAt == 0 ? Environment.TickCount64 : e.ReceivedAt) + AckTimeoutOf(subscription);
            if (Environment.TickCount64 > deadline && !subscription.Stopping.IsCancellationRequested)
            {
                // The transmitter has given it to another cell by now: running it here would do the work twice.
                Interlocked.Increment(ref _handlersTimedOut);
                await e.NackAsync("its ack deadline passed while it waited for the handler").ConfigureAwait(false);
                Notify(new CellNotice(CellNoticeKind.HandlerTimedOut,
                    $"#{e.Sequence} of {e.Origin} on {subscription.Pattern} waited past its ack deadline for the handler and was refused without running it")
                {
                    Pattern = subscription.Pattern,
                    Sequence = e.Sequence,
                });
                return;
            }

            var token = slot.Begin(e.Tag, deadline);
            try
            {
                await handler(e, token).ConfigureAwait(false);
            }
            finally
            {
                slot.End();
            }

            e.Acknowledge(quiet);
        }
        catch (OperationCanceledException ex) when (!subscription.Stopping.IsCancellationRequested)
        {
            await e.NackAsync("the handler was cancelled at its ack deadline").ConfigureAwait(false);
            Notify(new CellNotice(CellNoticeKind.HandlerTimedOut, $"The handler of {subscription.Pattern} did not finish #{e.Sequence} of {e.Origin} before its ack deadline; its token was cancelled and the event refused")
            {
                Exception = ex,
                Pattern = subscription.Pattern,
                Sequence = e.Sequence,
            });
        }
        catch (Exception ex)
        {
            // The handler's failure is the event's outcome: refuse it so another cell (or a later attempt) gets it.
            await e.NackAsync($"{ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
            Notify(new CellNotice(CellNoticeKind.HandlerFailed, $"The handler of {subscription.Pattern} failed on #{e.Sequence} of {e.Origin}: {ex.Message}")
            {
                Exception = ex,
                Pattern = subscription.Pattern,
                Sequence = e.Sequence,
            });
        }
        finally
        {
            e.ReturnFrame(); // the handler has finished with the body
        }
    }
}
