using Thynapse.Core;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// Sessions that ended without a goodbye (silent, stopped reading, disconnected) and whose cells may come back with
/// their resume token: for a while their multicatch subscriptions stay in the route table, routing nothing but
/// counting what each cell misses, so that it is told on re-joining (PROTOCOL.md §5.2, <c>WLCM.resumed</c>). Bounded
/// in count and in time; routing thread only.
/// </summary>
internal sealed class DepartedCells(int capacity, long retentionTicks)
{
    private readonly Dictionary<Thid, LocalCell> _byId = [];
    private readonly Queue<LocalCell> _order = new();

    public int Count => _byId.Count;

    /// <summary>Remembers a departed session; sessions it pushes out (the same cell's older one, or the oldest past the bound) go to <paramref name="forgotten"/>.</summary>
    public void Add(LocalCell cell, List<LocalCell> forgotten)
    {
        if (_byId.Remove(cell.Id, out var older))
        {
            forgotten.Add(older);
        }

        _byId.Add(cell.Id, cell);
        _order.Enqueue(cell);
        while (_byId.Count > capacity && _order.TryDequeue(out var oldest))
        {
            if (IsCurrent(oldest))
            {
                _byId.Remove(oldest.Id);
                forgotten.Add(oldest);
            }
        }
    }

    /// <summary>Takes the departed session of <paramref name="id"/>, if one is remembered.</summary>
    public bool TryTake(Thid id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LocalCell? cell) => _byId.Remove(id, out cell);

    /// <summary>Forgets the sessions that departed longer than the retention before <paramref name="now"/>.</summary>
    public void Expire(long now, List<LocalCell> forgotten)
    {
        while (_order.TryPeek(out var oldest) && (!IsCurrent(oldest) || now - oldest.EndedAt > retentionTicks))
        {
            _order.Dequeue();
            if (IsCurrent(oldest))
            {
                _byId.Remove(oldest.Id);
                forgotten.Add(oldest);
            }
        }
    }

    private bool IsCurrent(LocalCell cell) => _byId.TryGetValue(cell.Id, out var current) && ReferenceEquals(current, cell);
}
