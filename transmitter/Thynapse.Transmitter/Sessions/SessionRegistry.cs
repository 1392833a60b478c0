using System.Diagnostics.CodeAnalysis;
using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Sessions;

/// <summary>Welcomed cells by routing id (for inbound frames) and by THID (for duplicate and resume checks).</summary>
internal sealed class SessionRegistry
{
    private readonly Dictionary<byte[], CellSession> _byRoutingId = new(ByteArrayComparer.Instance);
    private readonly Dictionary<Thid, CellSession> _byId = [];

    public int Count => _byId.Count;

    public IEnumerable<CellSession> All => _byId.Values;

    public bool TryGetByRoutingId(ReadOnlySpan<byte> routingId, [NotNullWhen(true)] out CellSession? session) =>
        _byRoutingId.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(routingId, out session);

    public bool TryGetById(Thid id, [NotNullWhen(true)] out CellSession? session) => _byId.TryGetValue(id, out session);

    public void Add(CellSession session)
    {
        _byRoutingId.Add(session.RoutingId, session);
        _byId.Add(session.Id, session);
    }

    public void Remove(CellSession session)
    {
        _byRoutingId.Remove(session.RoutingId);
        if (_byId.TryGetValue(session.Id, out var current) && ReferenceEquals(current, session))
        {
            _byId.Remove(session.Id);
        }
    }
}
