using Thynapse.Core;

namespace Thynapse.Transmitter;

/// <summary>What a transmitter holds another member of its mesh to be (PROTOCOL.md §12.4).</summary>
public enum PeerState
{
    /// <summary>Answering probes (or heard from lately).</summary>
    Alive,

    /// <summary>A probe failed; declared dead unless it refutes within the suspicion timeout.</summary>
    Suspect,

    /// <summary>Declared dead at this incarnation; retried forever, alive again only with a higher incarnation.</summary>
    Dead,

    /// <summary>Left the mesh gracefully (shut down).</summary>
    Left,
}

/// <summary>One peer transmitter as this transmitter sees it (<see cref="Transmitter.Peers"/>).</summary>
/// <param name="Id">Its THID.</param>
/// <param name="Incarnation">Its incarnation: a restart or a refutation raises it.</param>
/// <param name="State">Alive, suspect, dead or left.</param>
/// <param name="CommandEndpoint">Its command (ROUTER) endpoint.</param>
/// <param name="EventsEndpoint">Its event (PUB) endpoint.</param>
/// <param name="LastSeen">When anything was last heard from it (null: never).</param>
/// <param name="Since">When it entered <paramref name="State"/>.</param>
/// <param name="Confirmations">While suspect: the members that suspect it, this one included if it does.</param>
public sealed record PeerInfo(
    Thid Id,
    long Incarnation,
    PeerState State,
    string CommandEndpoint,
    string EventsEndpoint,
    DateTimeOffset? LastSeen,
    DateTimeOffset Since,
    int Confirmations);
