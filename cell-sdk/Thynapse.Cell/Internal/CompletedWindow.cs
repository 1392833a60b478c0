using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The anycatch events this cell handled recently, by origin and sequence number (which identify an event as
/// its THID does): a redelivered duplicate — its ack was lost — is acknowledged again without running the handler
/// twice. Bounded: the oldest are forgotten first. Thread-safe.
/// </summary>
internal sealed class CompletedWindow(int capacity)
{
    private readonly HashSet<(Thid, ulong)> _completed = [];
    private readonly Queue<(Thid, ulong)> _order = new();
    private readonly Lock _gate = new();

    public void Add(Thid origin, ulong sequence)
    {
        lock (_gate)
        {
            if (!_completed.Add((origin, sequence)))
            {
                return;
            }

            _order.Enqueue((origin, sequence));
            if (_order.Count > capacity)
            {
                _completed.Remove(_order.Dequeue());
            }
        }
    }

    public bool Contains(Thid origin, ulong sequence)
    {
        lock (_gate)
        {
            return _completed.Contains((origin, sequence));
        }
    }
}
