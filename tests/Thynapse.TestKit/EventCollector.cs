using System.Collections.Concurrent;
using Thynapse.Cell;

namespace Thynapse.TestKit;

/// <summary>
/// An observer that keeps what it sees, for assertions after a bounded wait. An <c>OnError</c> is never swallowed:
/// <see cref="WaitForAsync"/> throws it at once, and <see cref="AssertNoError"/> fails with it.
/// </summary>
public sealed class EventCollector : IObserver<Event>
{
    private readonly ConcurrentQueue<Event> _events = new();
    private int _completed;
    private Exception? _error;

    /// <summary>Events seen so far, in arrival order.</summary>
    public IReadOnlyList<Event> Events => [.. _events];

    /// <summary>How many events were seen.</summary>
    public int Count => _events.Count;

    /// <summary>True once <c>OnCompleted</c> was called.</summary>
    public bool Completed => Volatile.Read(ref _completed) == 1;

    /// <summary>The error, if <c>OnError</c> was called.</summary>
    public Exception? Error => Volatile.Read(ref _error);

    /// <inheritdoc />
    public void OnNext(Event value) => _events.Enqueue(value);

    /// <inheritdoc />
    public void OnError(Exception error) => Volatile.Write(ref _error, error);

    /// <inheritdoc />
    public void OnCompleted() => Volatile.Write(ref _completed, 1);

    /// <summary>
    /// Waits (bounded) until at least <paramref name="count"/> events were seen; throws if the stream ended with an
    /// error first (or had ended with one already).
    /// </summary>
    public async Task WaitForAsync(int count, string who, CancellationToken cancellationToken = default)
    {
        try
        {
            await Eventually.That($"{who} has {count} events", () => Error is not null || Count >= count, cancellationToken: cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message} (it has {Count})", ex);
        }

        AssertNoError(who);
    }

    /// <summary>Throws if <c>OnError</c> was called, with the error as the inner exception.</summary>
    public void AssertNoError(string who = "the subscription")
    {
        if (Error is { } error)
        {
            throw new InvalidOperationException($"{who} ended with an error after {Count} events: {error.GetType().Name}: {error.Message}", error);
        }
    }
}
