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

    private AckBuffer? _ackBuffer;
    private CompletedWindow? _completedWindow;
    private long _duplicatesSuppressed;
    private long _lateDeliveries;

    /// <summary>Redelivered duplicates of already handled anycatch events that were acknowledged again without reaching observers.</summary>
    public long DuplicatesSuppressed => Interlocked.Read(ref _duplicatesSuppressed);

    /// <summary>
    /// Anycatch deliveries that arrived for a subscription this cell had already ended; acknowledging ones were
    /// refused at once so another cell got them.
    /// </summary>
    public long LateDeliveries => Interlocked.Read(ref _lateDeliveries);

    private AckBuffer _acks => _ackBuffer ??= new AckBuffer(WakeForPublishes);

    private CompletedWindow _completed => _completedWindow ??= new CompletedWindow(_options.DeduplicationWindow);

    /// <summary>
    /// Catches <paramref name="pattern"/> in anycatch mode with acknowledgements and runs <paramref name="handler"/>
    /// for each event: when it returns the event is acknowledged, when it throws it is refused and the transmitter
    /// redelivers it to another cell (PROTOCOL.md §4.5). Completes once the subscription is active.
    /// </summary>
    /// <remarks>
    /// At most <see cref="HandlerOptions.MaxConcurrency"/> handlers run at a time: one (the default) on a thread the
    /// subscription owns, more on the thread pool; after an <c>await</c> a handler continues on the thread pool. Its
    /// token is cancelled when the subscription is disposed. A redelivered event this cell already handled is
    /// acknowledged again without running the handler twice (within each origin's latest
    /// <see cref="CellOptions.DeduplicationWindow"/> sequence numbers). The event's <see cref="Event.Body"/> is valid
    /// until the handler's task completes: the buffer it is a slice of is then reused, so copy what you keep.
    /// </remarks>
    public Task<CellSubscription> HandleAsync(
        string pattern,
        Func<Event, CancellationToken, Task> handler,
        HandlerOptions? options = null,
        CancellationToken cancellationToken = default)
    {
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
        subscription.Handler = concurrency == 1
            ? Task.Factory.StartNew(() => RunSerialHandler(subscription, handler), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : Task.Run(() => RunConcurrentHandlersAsync(subscription, handler, concurrency), CancellationToken.None);
        return subscription;
    }

    /// <summary>Any thread: acknowledges a tag and remembers the event as handled (<paramref name="quiet"/>: see <see cref="AckBuffer.Append"/>).</summary>
    internal void Acknowledge(ulong tag, Thid origin, ulong sequence, bool quiet = false)
    {
        _completed.Add(origin, sequence);
        _acks.Append(tag, quiet);
    }

    /// <summary>Any thread: refuses a tag (<c>NACK</c>), so that the transmitter redelivers it.</summary>
    internal void Refuse(ulong tag, string? reason)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return; // leaving: the transmitter redelivers what we held anyway
        }

        _work.Enqueue(() => Send(JsonPayload.Frame(Command.Nack, new JObject { ["tag"] = tag, ["reason"] = reason ?? "refused" })));
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
        try
        {
            while (reader.WaitToRead())
            {
                var quietAcks = 0;
                var firstQuiet = 0L;
                while (reader.TryRead(out var e))
                {
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var running = HandleOneAsync(subscription, handler, e, quiet: true);
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
        }
        catch (OperationCanceledException)
        {
            // The subscription ended.
        }
    }

    /// <summary>Up to <paramref name="concurrency"/> handlers at once on the thread pool, each acknowledging as it finishes.</summary>
    private async Task RunConcurrentHandlersAsync(CellSubscription subscription, Func<Event, CancellationToken, Task> handler, int concurrency)
    {
        var reader = subscription.Queue.Ring;
        using var slots = new SemaphoreSlim(concurrency);
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var e))
                {
                    await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    _ = ReleaseAfter(HandleOneAsync(subscription, handler, e, quiet: false), slots);
                }
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

        static async Task ReleaseAfter(Task running, SemaphoreSlim slots)
        {
            try
            {
                await running.ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
            }
        }
    }

    /// <summary>Runs the handler on one event and acknowledges it, or refuses it (and notices) when the handler throws.</summary>
    private async Task HandleOneAsync(CellSubscription subscription, Func<Event, CancellationToken, Task> handler, Event e, bool quiet)
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

            await handler(e, subscription.Stopping.Token).ConfigureAwait(false);
            e.Acknowledge(quiet);
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
