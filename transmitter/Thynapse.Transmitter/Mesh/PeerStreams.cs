using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>The two streams a transmitter hears from each peer on its event socket (PROTOCOL.md §12.2).</summary>
internal enum StreamKind
{
    /// <summary>Topic <c>$mesh</c>: what the peer says to everyone.</summary>
    Broadcast,

    /// <summary>Topic = this transmitter's THID: what the peer says to it alone.</summary>
    Directed,
}

/// <summary>What a message's sequence number says about its stream.</summary>
internal enum StreamVerdict
{
    /// <summary>The next one, the first one heard, or an older one (a reordering across sockets): take it.</summary>
    InOrder,

    /// <summary>Some messages before it were lost (PUB drops at its high-water mark): take it, and repair.</summary>
    Gap,

    /// <summary>From an earlier incarnation of the peer: ignore it.</summary>
    Stale,
}

/// <summary>
/// The sequence numbers heard from each peer, per incarnation and stream, so that a loss on a PUB socket is seen: by a
/// number skipped, or by a pulse naming a number not heard (a lost tail). A new incarnation starts its streams afresh.
/// Routing thread only.
/// </summary>
internal sealed class PeerStreams
{
    private readonly Dictionary<Thid, Origin> _origins = [];

    /// <summary>Messages found missing, in all.</summary>
    public long Missing { get; private set; }

    /// <summary>Checks a sequenced message from <paramref name="origin"/>; <paramref name="missing"/> counts what a gap skipped.</summary>
    public StreamVerdict Observe(Thid origin, long incarnation, StreamKind kind, long seq, out long missing)
    {
        missing = 0;
        if (Get(origin, incarnation) is not { } state)
        {
            return StreamVerdict.Stale;
        }

        ref var next = ref kind == StreamKind.Broadcast ? ref state.NextBroadcast : ref state.NextDirected;
        if (next == 0 || seq == next || seq < next)
        {
            next = Math.Max(next, seq + 1);
            return StreamVerdict.InOrder;
        }

        missing = seq - next;
        next = seq + 1;
        Missing += missing;
        return StreamVerdict.Gap;
    }

    /// <summary>
    /// Checks a pulse: its stream has reached <paramref name="last"/>. A number not heard yet is a lost tail, counted and
    /// reported as a gap; the stream then continues after it.
    /// </summary>
    public StreamVerdict ObservePulse(Thid origin, long incarnation, StreamKind kind, long last, out long missing)
    {
        missing = 0;
        if (Get(origin, incarnation) is not { } state)
        {
            return StreamVerdict.Stale;
        }

        ref var next = ref kind == StreamKind.Broadcast ? ref state.NextBroadcast : ref state.NextDirected;
        if (next == 0)
        {
            next = last + 1; // the first we hear of this stream: where it stands now
            return StreamVerdict.InOrder;
        }

        if (last < next)
        {
            return StreamVerdict.InOrder;
        }

        missing = last + 1 - next;
        next = last + 1;
        Missing += missing;
        return StreamVerdict.Gap;
    }

    /// <summary>A snapshot of <paramref name="origin"/>'s state as of its broadcast number <paramref name="seq"/> was merged.</summary>
    public void Synced(Thid origin, long incarnation, long seq)
    {
        if (Get(origin, incarnation) is { } state)
        {
            state.NextBroadcast = Math.Max(state.NextBroadcast, seq + 1);
        }
    }

    /// <summary>Forgets a peer (it left).</summary>
    public void Forget(Thid origin) => _origins.Remove(origin);

    private Origin? Get(Thid origin, long incarnation)
    {
        if (!_origins.TryGetValue(origin, out var state) || incarnation > state.Incarnation)
        {
            state = new Origin { Incarnation = incarnation };
            _origins[origin] = state;
        }

        return incarnation < state.Incarnation ? null : state;
    }

    private sealed class Origin
    {
        public long Incarnation;

        /// <summary>The number expected next on the broadcast stream; 0: nothing heard yet.</summary>
        public long NextBroadcast;

        public long NextDirected;
    }
}
