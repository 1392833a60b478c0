using Thynapse.Core;

namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// Events whose completion was sent recently, so that a publisher resending one after a reconnect gets its
/// <c>DONE</c> again instead of a second routing. Bounded: the oldest are forgotten first.
/// </summary>
internal sealed class RecentCompletions(int capacity)
{
    private readonly Dictionary<(Thid, ulong), CompletionWaiter> _byEvent = [];
    private readonly Queue<(Thid, ulong)> _order = new();

    public void Add(CompletionWaiter waiter)
    {
        var key = (waiter.Origin, waiter.Sequence);
        if (!_byEvent.TryAdd(key, waiter))
        {
            return;
        }

        _order.Enqueue(key);
        if (_order.Count > capacity)
        {
            _byEvent.Remove(_order.Dequeue());
        }
    }

    public bool TryGet(Thid origin, ulong sequence, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CompletionWaiter? waiter) =>
        _byEvent.TryGetValue((origin, sequence), out waiter);
}
