using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>
/// A subscription the transmitter has confirmed: events matching <see cref="Pattern"/> are buffered from the
/// moment it exists, and handed to its observers in order.
/// </summary>
/// <remarks>
/// Observers are called serially on a thread-pool thread, never on the cell's socket thread. If they fall
/// <see cref="CellOptions.SubscriptionBufferCapacity"/> events behind, further multicatch events are dropped,
/// counted in <see cref="Dropped"/> and reported on <see cref="Cell.Notices"/>. Dispose to unsubscribe; the
/// observers then get <c>OnCompleted</c> once the buffered events are delivered.
/// </remarks>
public sealed class CellSubscription : IObservable<Event>, IAsyncDisposable
{
    private readonly Cell _cell;
    private long _dropped;
    private long _unreportedDrops;
    private int _disposed;
    private Timer? _watchdog;

    internal CellSubscription(Cell cell, uint id, ChannelPattern pattern, Catch mode, SubscriptionOptions options, int capacity, Action<Exception> onObserverError, bool handled = false)
    {
        _cell = cell;
        Handled = handled;
        Id = id;
        ChannelPattern = pattern;
        Mode = mode;
        Options = options;
        Queue = new DispatchQueue<Event>(capacity, onObserverError, readByOwner: handled);
    }

    /// <summary>The id this cell gave the subscription on the wire.</summary>
    public uint Id { get; }

    /// <summary>The pattern caught.</summary>
    public string Pattern => ChannelPattern.Text;

    /// <summary>How events are caught.</summary>
    public Catch Mode { get; }

    /// <summary>Events dropped because the observers did not keep up.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Completes when the subscription has ended and its observers were told.</summary>
    public Task Completion => Queue.Completion;

    /// <summary>True when its events must be acknowledged (<see cref="SubscriptionOptions.Acknowledge"/>).</summary>
    public bool Acknowledging => Options.Acknowledge;

    internal ChannelPattern ChannelPattern { get; }

    internal SubscriptionOptions Options { get; }

    internal DispatchQueue<Event> Queue { get; }

    internal Cell Cell => _cell;

    /// <summary>Set when a handler (<see cref="Cell.HandleAsync"/>) consumes the events instead of observers.</summary>
    internal Task? Handler { get; set; }

    /// <summary>
    /// Made by <see cref="Cell.HandleAsync"/>: a handler will consume its events (from the start, before
    /// <see cref="Handler"/> is set), so each event's frame buffer is lent to it only until it has finished.
    /// </summary>
    internal bool Handled { get; }

    /// <summary>Cancelled when the subscription is disposed: handlers see it.</summary>
    internal CancellationTokenSource Stopping { get; } = new();

    /// <summary>A handler's slots, one per handler that may run at once, with their events' deadlines.</summary>
    internal HandlerSlot[] Slots { get; set; } = [];

    /// <summary>Cancels handlers past their deadlines (set with <see cref="Handler"/>, from any thread: see <see cref="Cell.StartHandler"/>).</summary>
    internal Timer? Watchdog
    {
        get => Volatile.Read(ref _watchdog);
        set => Volatile.Write(ref _watchdog, value);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A handler already consumes this subscription's events.</exception>
    public IDisposable Subscribe(IObserver<Event> observer) => Handler is null
        ? Queue.Subscribe(observer)
        : throw new InvalidOperationException("A handler consumes this subscription's events; it takes no observers.");

    /// <summary>The wire form of this subscription, as in <c>SUBS</c> and <c>HELO.subs</c> (PROTOCOL.md §5.6).</summary>
    /// <remarks>The acknowledgement settings travel only with <c>ack</c>.</remarks>
    internal SubscribeMessage ToMessage() => Options.Acknowledge
        ? new SubscribeMessage(Id, ChannelPattern, Mode)
        {
            Ack = true,
            Prefetch = (uint?)Options.Prefetch,
            AckTimeout = Options.AckTimeout is { } timeout ? (uint)timeout.TotalMilliseconds : null,
            MaxAttempts = (uint?)Options.MaxAttempts,
        }
        : new SubscribeMessage(Id, ChannelPattern, Mode);

    /// <summary>Unsubscribes (<c>UNSB</c>) and completes the observers after the events already buffered.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _cell.UnsubscribeAsync(this).ConfigureAwait(false);
        }
        finally
        {
            // The handler stops taking events before the buffer is completed: what it still holds is refused, not run.
            await _cell.Handlers.CancelAsync(this).ConfigureAwait(false);
            Queue.Complete();
            if (Handler is { } handler)
            {
                // Bounded (issue 15, finding 5): a handler that ignores its token must not hang the caller.
                if (await Task.WhenAny(handler, Task.Delay(_cell.Handlers.StopTimeout)).ConfigureAwait(false) != handler)
                {
                    _cell.Handlers.Abandoned(this);
                }
            }

            if (Watchdog is { } watchdog)
            {
                await watchdog.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Socket thread: true between <see cref="BeginWrites"/> and <see cref="EndWrites"/>.</summary>
    internal bool Writing { get; private set; }

    /// <summary>Hands an event to the observers' buffer; false (and counted) when the buffer is full.</summary>
    internal bool Offer(in Event e) => Counted(Writing ? Queue.Ring.TryWriteHeld(e) : Queue.TryWrite(e));

    /// <summary>Socket thread: the events of one delivery frame go in as one run (<see cref="EventRing{T}.BeginWrites"/>).</summary>
    internal void BeginWrites()
    {
        Queue.Ring.BeginWrites();
        Writing = true;
    }

    /// <summary>Socket thread: ends the run and wakes the observers' loop.</summary>
    internal void EndWrites()
    {
        Writing = false;
        Queue.Ring.EndWrites();
    }

    private bool Counted(bool written)
    {
        if (!written)
        {
            Interlocked.Increment(ref _dropped);
            Interlocked.Increment(ref _unreportedDrops);
        }

        return written;
    }

    /// <summary>Drops counted since the last call (for the periodic slow-consumer notice).</summary>
    internal long TakeUnreportedDrops() => Interlocked.Exchange(ref _unreportedDrops, 0);

    /// <inheritdoc />
    public override string ToString() => $"#{Id} {Pattern} ({Mode})";
}
