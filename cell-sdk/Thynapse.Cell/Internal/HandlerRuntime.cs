using Serilog;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Runs the handlers of <see cref="Cell.HandleAsync"/>: each subscription's loop (one handler on a thread of its own, or
/// several on the thread pool), the events' ack deadlines (a watchdog timer per subscription cancels the tokens of
/// handlers past them), the outcome of each event (acknowledged, or refused), and stopping. Handler threads, timer
/// threads, and whoever disposes; the socket thread only fills the subscriptions' buffers.
/// </summary>
internal sealed class HandlerRuntime(Acknowledgements acknowledgements, CellSignals signals, RateLimitedLog tokenCallbackFailures, ILogger log, TimeSpan stopTimeout)
{
    /// <summary>Quiet acknowledgements a serial handler loop sends together at most.</summary>
    private const int AckRun = 64;

    /// <summary>The longest a serial handler loop keeps a quiet acknowledgement before sending it.</summary>
    private static readonly TimeSpan AckDelay = TimeSpan.FromMilliseconds(1);

    private volatile bool _stopping;
    private long _timedOut;
    private long _leftUnhandled;

    /// <summary>Events whose ack deadline passed: the handler's token was cancelled, or the event was refused unhandled.</summary>
    public long TimedOut => Interlocked.Read(ref _timedOut);

    /// <summary>Events that waited in a handler's buffer when the cell or the subscription was disposed (review finding 11).</summary>
    public long LeftUnhandled => Interlocked.Read(ref _leftUnhandled);

    /// <summary>Callbacks registered on handlers' tokens that threw when the cell cancelled them (review finding 3).</summary>
    public long TokenCallbackFailures => tokenCallbackFailures.Count();

    /// <summary>How long stopping waits for running handlers (<see cref="CellOptions.HandlerStopTimeout"/>).</summary>
    public TimeSpan StopTimeout => stopTimeout;

    /// <summary>The cell is being disposed: handlers take no more events from their buffers.</summary>
    public void Stop() => _stopping = true;

    /// <summary>Starts the handler of a subscription once the transmitter has confirmed it.</summary>
    public async Task<CellSubscription> StartAsync(Task<CellSubscription> subscribing, Func<Event, CancellationToken, Task> handler, int concurrency)
    {
        var subscription = await subscribing.ConfigureAwait(false);
        Start(subscription, handler, concurrency);
        return subscription;
    }

    /// <summary>
    /// Starts the handler loop of a confirmed subscription, and its watchdog unless the cell or the subscription is
    /// already stopping (review finding 12: this runs as a continuation, possibly after disposing has begun, and a
    /// watchdog made then was never disposed). Stopping and starting each look at the other after their own step, so
    /// at least one of them disposes a watchdog that exists (disposing twice is harmless).
    /// </summary>
    public void Start(CellSubscription subscription, Func<Event, CancellationToken, Task> handler, int concurrency)
    {
        subscription.Slots = [.. Enumerable.Range(0, concurrency).Select(_ => new HandlerSlot(ex => TokenCallbackFailed(ex, subscription), subscription.Stopping.Token))];
        if (!StopsTakingEvents(subscription))
        {
            var period = TimeSpan.FromMilliseconds(Math.Clamp(acknowledgements.AckTimeoutOf(subscription) / 8, 5, 1000));
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

    /// <summary>
    /// Any thread: cancels a subscription's handlers (disposing it, or the cell). Callbacks the handlers registered on
    /// their tokens run now; one that throws is logged, and stopping goes on.
    /// </summary>
    public async Task CancelAsync(CellSubscription subscription)
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

    /// <summary>
    /// Disposing the cell: cancels the handlers' tokens and waits for them, up to <see cref="StopTimeout"/> in all;
    /// those still running are abandoned (said in the log: the transmitter redelivers their events).
    /// </summary>
    public async Task StopAsync(IReadOnlyList<CellSubscription> subscriptions)
    {
        var running = new List<(CellSubscription Subscription, Task Handler)>();
        foreach (var subscription in subscriptions)
        {
            await CancelAsync(subscription).ConfigureAwait(false);
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
        if (await Task.WhenAny(all, Task.Delay(stopTimeout)).ConfigureAwait(false) != all)
        {
            foreach (var (subscription, _) in running.Where(r => !r.Handler.IsCompleted))
            {
                Abandoned(subscription);
            }
        }

        foreach (var (subscription, _) in running)
        {
            subscription.Watchdog?.Dispose();
        }
    }

    /// <summary>A handler did not stop within <see cref="StopTimeout"/>: say so.</summary>
    public void Abandoned(CellSubscription subscription) =>
        log.Warning("The handler of {Pattern} did not finish within {Timeout} of being stopped; it is abandoned, and the transmitter redelivers its events",
            subscription.Pattern, stopTimeout);

    /// <summary>Any thread: a handler's event is still in progress: its deadline starts again here and at the transmitter (<c>PROG</c>).</summary>
    public void InProgress(CellSubscription subscription, ulong tag, int session)
    {
        if (!acknowledgements.InProgress(tag, session))
        {
            return;
        }

        var deadline = Environment.TickCount64 + acknowledgements.AckTimeoutOf(subscription);
        foreach (var slot in subscription.Slots)
        {
            slot.Extend(tag, deadline);
        }
    }

    /// <summary>Timer thread: cancels the tokens of handlers past their events' deadlines.</summary>
    private void WatchHandlers(CellSubscription subscription)
    {
        var now = Environment.TickCount64;
        foreach (var slot in subscription.Slots)
        {
            if (slot.CancelIfLate(now))
            {
                Interlocked.Increment(ref _timedOut);
            }
        }
    }

    /// <summary>Any thread: a callback on a handler's token threw when the cell cancelled it; the application's bug, logged (within limits).</summary>
    private void TokenCallbackFailed(Exception ex, CellSubscription subscription) => tokenCallbackFailures.Warn(ex, "A callback registered on the token of a handler of {Pattern} threw when the cell cancelled the token; the cell goes on", subscription.Pattern);

    /// <summary>
    /// Any thread: once the cell is being disposed (or the subscription is), handlers take no more events from the
    /// buffer: their acknowledgements could go nowhere (review finding 11).
    /// </summary>
    private bool StopsTakingEvents(CellSubscription subscription) => _stopping || subscription.Stopping.IsCancellationRequested;

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
        acknowledgements.Refuse(e.Tag, "its handler stopped before taking it", e.Session);
        e.ReturnFrame();
    }

    /// <summary>Says how many buffered events a stopped handler left (the transmitter redelivers them).</summary>
    private void ReportLeftUnhandled(CellSubscription subscription, int left)
    {
        if (left > 0)
        {
            log.Information("The handler of {Pattern} stopped with {Count} events buffered and not handled; the transmitter redelivers them", subscription.Pattern, left);
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
                        acknowledgements.SendQuiet();
                        quietAcks = 0;
                    }
                }

                acknowledgements.SendQuiet();
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
            if (acknowledgements.Handled(e.Origin, e.Sequence))
            {
                acknowledgements.AcknowledgeDuplicate(e.Tag, e.Session, quiet);
                return;
            }

            var deadline = (e.ReceivedAt == 0 ? Environment.TickCount64 : e.ReceivedAt) + acknowledgements.AckTimeoutOf(subscription);
            if (Environment.TickCount64 > deadline && !subscription.Stopping.IsCancellationRequested)
            {
                // The transmitter has given it to another cell by now: running it here would do the work twice.
                Interlocked.Increment(ref _timedOut);
                await e.NackAsync("its ack deadline passed while it waited for the handler").ConfigureAwait(false);
                signals.Notify(new CellNotice(CellNoticeKind.HandlerTimedOut,
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
            signals.Notify(new CellNotice(CellNoticeKind.HandlerTimedOut, $"The handler of {subscription.Pattern} did not finish #{e.Sequence} of {e.Origin} before its ack deadline; its token was cancelled and the event refused")
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
            signals.Notify(new CellNotice(CellNoticeKind.HandlerFailed, $"The handler of {subscription.Pattern} failed on #{e.Sequence} of {e.Origin}: {ex.Message}")
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
