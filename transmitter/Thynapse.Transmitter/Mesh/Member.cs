using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Another transmitter of the mesh, as <see cref="Membership"/> holds it: identity, incarnation, state and what the
/// failure detector knows of it. Times are ticks of the routing clock. Routing thread only.
/// </summary>
internal sealed class Member(Thid id, long incarnation, PeerState state, string command, string events)
{
    public Thid Id { get; } = id;

    public long Incarnation { get; set; } = incarnation;

    public PeerState State { get; set; } = state;

    public string CommandEndpoint { get; set; } = command;

    public string EventsEndpoint { get; set; } = events;

    /// <summary>When it entered <see cref="State"/>.</summary>
    public long StateSince { get; set; }

    /// <summary>When anything was last heard from it; <see cref="long.MinValue"/>: never.</summary>
    public long LastHeard { get; set; } = long.MinValue;

    /// <summary>When it was linked (or last heard): the start of the silence that triggers an early probe.</summary>
    public long QuietSince { get; set; }

    /// <summary>When its last probe started.</summary>
    public long LastProbeStart { get; set; } = long.MinValue;

    /// <summary>True while this transmitter follows it (command link open, streams subscribed).</summary>
    public bool Linked { get; set; }

    /// <summary>While suspect: the suspicion and its confirmations.</summary>
    public Suspicion? Suspicion { get; set; }

    /// <summary>While dead: the attempt that retries it.</summary>
    public int? Retry { get; set; }

    /// <summary>While suspect: the member whose suspicion this transmitter adopted first (named in the records it sends).</summary>
    public Thid SuspectedBy { get; set; }

    /// <summary>The highest <c>FWRD</c> record kind it reads, as its records said (0: they did not say, §12.10).</summary>
    public int Records { get; set; }

    /// <summary>The incarnation its process started at (<see cref="MemberRecord.Run"/>); 0 while no record said.</summary>
    public long Run { get; set; }

    public MemberRecord ToRecord() => new(Id, Incarnation, State, CommandEndpoint, EventsEndpoint, State == PeerState.Suspect ? SuspectedBy : default, Records, Run);

    public override string ToString() => $"{Id} (incarnation {Incarnation})";
}
