using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The transmitters a cell may fail over to, as <c>WLCM.transmitters</c> and <c>TMTR</c> list them (PROTOCOL.md §5.2,
/// §5.19): this transmitter first, then every member not declared dead and not left (alive or suspect: a suspect may
/// refute), in THID order. Recomputed whenever the membership changes; <see cref="Changed"/> is raised only when the
/// list itself differs. Routing thread only.
/// </summary>
internal sealed class TransmitterRoster
{
    private readonly Membership _membership;
    private readonly TransmitterAddress _self;

    public TransmitterRoster(Membership membership)
    {
        _membership = membership;
        _self = new TransmitterAddress(membership.Id, membership.CommandEndpoint, membership.EventsEndpoint);
        Current = [_self];
        membership.Changed += Refresh;
    }

    /// <summary>The list now: never empty, this transmitter first.</summary>
    public IReadOnlyList<TransmitterAddress> Current { get; private set; }

    /// <summary>The list changed (a member joined, died, left, or moved to other endpoints).</summary>
    public event Action<IReadOnlyList<TransmitterAddress>>? Changed;

    /// <summary>The live members other than this transmitter, for a graceful shutdown's hand-over.</summary>
    public IEnumerable<TransmitterAddress> Others => Current.Skip(1);

    private void Refresh()
    {
        TransmitterAddress[] list =
        [
            _self,
            .. _membership.Members
                .Where(m => m.State is PeerState.Alive or PeerState.Suspect)
                .OrderBy(m => m.Id.ToString(), StringComparer.Ordinal)
                .Select(m => new TransmitterAddress(m.Id, m.CommandEndpoint, m.EventsEndpoint)),
        ];
        if (list.SequenceEqual(Current))
        {
            return;
        }

        Current = list;
        Changed?.Invoke(list);
    }
}
