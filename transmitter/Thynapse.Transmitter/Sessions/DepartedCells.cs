using Thynapse.Core;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// Sessions that ended without a goodbye (silent, stopped reading, disconnected) and whose cells may come back with
/// their resume token: for a while their multicatch subscriptions stay in the route table, routing nothing but
/// counting what each cell misses, so that it is told on re-joining (PROTOCOL.md §5.2, <c>WLCM.resumed</c>). Bounded
/// in cells, in the subscriptions they keep in the route table (each routes nothing but is still matched for every
/// event on its pattern) and in time, the oldest forgotten first; routing thread only.
/// </summary>
internal sealed class DepartedCells(int capacity, int maxSubscriptions, long retentionTicks)
{
    private readonly Dictionary<Thid, LocalCell> _byId = [];
    private readonly Queue<LocalCell> _order = new();

    public int Count => _byId.Count;

    /// <summary>Multicatch subscriptions the remembered cells keep in the route table.</summary>
    public int Subscriptions { get; private set; }

    /// <summary>Remembers a departed session; sessions it pushes out (the same cell's older one, or the oldest past the bound) go to <paramref name="forgotten"/>.</summary>
    public void Add(LocalCell cell, List<LocalCell> forgotten)
    {
        if (TryTake(cell.Id, out var older))
        {
            forgotten.Add(older);
        }

        var kept = Kept(cell);
        if (kept > maxSubscriptions)
        {
            forgotten.Add(cell); // more than all the room there is: not remembered at all
            return;
        }

        _byId.Add(cell.Id, cell);
        Subscriptions += kept;
        _order.Enqueue(cell);
        while ((_byId.Count > capacity || Subscriptions > maxSubscriptions) && _order.TryDequeue(out var oldest))
        {
            if (IsCurrent(oldest))
            {
                Forget(oldest, forgotten);
            }
        }
    }

    /// <summary>The departed session of <paramref name="id"/>, if one is remembered (it stays remembered).</summary>
    public bool TryGet(Thid id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LocalCell? cell) => _byId.TryGetValue(id, out cell);

    /// <summary>Takes the departed session of <paramref name="id"/>, if one is remembered.</summary>
    public bool TryTake(Thid id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LocalCell? cell)
    {
        if (!_byId.Remove(id, out cell))
        {
            return false;
        }

        Subscriptions -= Kept(cell);
        return true;
    }

    /// <summary>Forgets the sessions that departed longer than the retention before <paramref name="now"/>.</summary>
    public void Expire(long now, List<LocalCell> forgotten)
    {
        while (_order.TryPeek(out var oldest) && (!IsCurrent(oldest) || now - oldest.EndedAt > retentionTicks))
        {
            _order.Dequeue();
            if (IsCurrent(oldest))
            {
                Forget(oldest, forgotten);
            }
        }
    }

    /// <summary>The multicatch subscriptions a departed cell keeps (its profile no longer changes).</summary>
    private static int Kept(LocalCell cell)
    {
        var kept = 0;
        foreach (var subscription in cell.Profile.Subscriptions.Values)
        {
            kept += subscription.Mode == Catch.Multi ? 1 : 0;
        }

        return kept;
    }

    private void Forget(LocalCell cell, List<LocalCell> forgotten)
    {
        _byId.Remove(cell.Id);
        Subscriptions -= Kept(cell);
        forgotten.Add(cell);
    }

    private bool IsCurrent(LocalCell cell) => _byId.TryGetValue(cell.Id, out var current) && ReferenceEquals(current, cell);
}
