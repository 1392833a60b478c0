using System.Diagnostics.CodeAnalysis;
using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// The cells this transmitter knows, by THID and (local ones) by routing id, with a feed of their joins, updates and
/// leaves: what discovery (LIST, WTCH) and targeted routing read (PROTOCOL.md §4.6, §5.16, §5.17). Local cells only
/// today; the mesh's replica of other transmitters' cells joins the same directory and feed. Routing thread only.
/// </summary>
internal sealed class CellDirectory
{
    private readonly Dictionary<byte[], LocalCell> _byRoutingId = new(ByteArrayComparer.Instance);
    private readonly Dictionary<Thid, LocalCell> _byId = [];

    /// <summary>A cell joined (its session began, or was resumed).</summary>
    public event Action<LocalCell>? Joined;

    /// <summary>A cell's metadata or tags changed.</summary>
    public event Action<LocalCell>? Updated;

    /// <summary>A cell left (its session ended, however).</summary>
    public event Action<LocalCell>? Left;

    public int Count => _byId.Count;

    public IEnumerable<LocalCell> All => _byId.Values;

    /// <summary>
    /// Counts what changes whom a target admits or a selector picks without changing a route plan: metadata changes,
    /// and departures of cells that keep their multicatch subscriptions (they stay in plans, closed). Targeted plans
    /// computed at an older epoch are computed again. (Any change of subscriptions makes new route plans anyway.)
    /// </summary>
    public long MetadataEpoch { get; private set; }

    public bool TryGetByRoutingId(ReadOnlySpan<byte> routingId, [NotNullWhen(true)] out LocalCell? cell) =>
        _byRoutingId.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(routingId, out cell);

    public bool TryGetById(Thid id, [NotNullWhen(true)] out LocalCell? cell) => _byId.TryGetValue(id, out cell);

    public void Add(LocalCell cell)
    {
        _byRoutingId.Add(cell.RoutingId, cell);
        _byId.Add(cell.Id, cell);
        Joined?.Invoke(cell);
    }

    /// <summary>A cell's profile changed (applied already): in force for every event routed after this.</summary>
    public void Update(LocalCell cell)
    {
        MetadataEpoch++;
        Updated?.Invoke(cell);
    }

    /// <summary>A cell of another transmitter joined, changed or left the replica: targets and selectors see the cluster.</summary>
    public void RemoteChanged() => MetadataEpoch++;

    /// <summary>A cell departed keeping its multicatch subscriptions: closed, it no longer competes for selectors.</summary>
    public void Departed() => MetadataEpoch++;

    public void Remove(LocalCell cell)
    {
        _byRoutingId.Remove(cell.RoutingId);
        if (_byId.TryGetValue(cell.Id, out var current) && ReferenceEquals(current, cell))
        {
            _byId.Remove(cell.Id);
        }

        Left?.Invoke(cell);
    }
}
