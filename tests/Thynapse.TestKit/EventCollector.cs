using System.Collections.Concurrent;
using Thynapse.Cell;

namespace Thynapse.TestKit;

/// <summary>An observer that keeps what it sees, for assertions after a bounded wait.</summary>
public sealed class EventCollector : IObserver<Event>
{
    private readonly ConcurrentQueue<Event> _events = new();
    private int _completed;

    /// <summary>Events seen so far, in arrival order.</summary>
    public IReadOnlyList<Event> Events => [.. _events];

    /// <summary>How many events were seen.</summary>
    public int Count => _events.Count;

    /// <summary>True once <c>OnCompleted</c> was called.</summary>
    public bool Completed => Volatile.Read(ref _completed) == 1;

    /// <summary>The error, if <c>OnError</c> was called.</summary>
    public Exception? Error { get; private set; }

    /// <inheritdoc />
    public void OnNext(Event value) => _events.Enqueue(value);

    /// <inheritdoc />
    public void OnError(Exception error) => Error = error;

    /// <inheritdoc />
    public void OnCompleted() => Volatile.Write(ref _completed, 1);

    /// <summary>Waits (bounded) until at least <paramref name="count"/> events were seen.</summary>
    public async Task WaitForAsync(int count, string who, CancellationToken cancellationToken = default)
    {
        try
        {
            await Eventually.That($"{who} has {count} events", () => Count >= count, cancellationToken: cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message} (it has {Count})", ex);
        }
    }
}
