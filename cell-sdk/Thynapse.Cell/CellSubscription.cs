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

    internal CellSubscription(Cell cell, uint id, ChannelPattern pattern, Catch mode, int capacity, Action<Exception> onObserverError)
    {
        _cell = cell;
        Id = id;
        ChannelPattern = pattern;
        Mode = mode;
        Queue = new DispatchQueue<Event>(capacity, onObserverError);
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

    internal ChannelPattern ChannelPattern { get; }

    internal DispatchQueue<Event> Queue { get; }

    /// <inheritdoc />
    public IDisposable Subscribe(IObserver<Event> observer) => Queue.Subscribe(observer);

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
            Queue.Complete();
        }
    }

    /// <summary>Hands an event to the observers' buffer; false (and counted) when the buffer is full.</summary>
    internal bool Offer(in Event e)
    {
        if (Queue.TryWrite(e))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        Interlocked.Increment(ref _unreportedDrops);
        return false;
    }

    /// <summary>Drops counted since the last call (for the periodic slow-consumer notice).</summary>
    internal long TakeUnreportedDrops() => Interlocked.Exchange(ref _unreportedDrops, 0);

    /// <inheritdoc />
    public override string ToString() => $"#{Id} {Pattern} ({Mode})";
}
