using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The receiving half of the forward streams (PROTOCOL.md §12.11): per sender, <c>FWRD</c> messages are handed on in
/// their numbers' order, each once. A message after a gap is held (the events behind the gap keep their order) and
/// the missing numbers are asked for again (<c>RSND</c>); a <c>GONE</c> answer, a sender that dies, too many asks
/// without an answer, or too much held ends the gap: the missing numbers are counted as lost and what is held goes on.
/// </summary>
/// <remarks>Pure and clock-driven (the routing clock, in its ticks); routing thread only.</remarks>
internal sealed class ForwardInbox(Func<long> incarnation, Func<long> now, long retryTicks, ForwardInbox.Delivery deliver, Action<Thid, long, long> ask,
    Action<Thid, long> lost)
{
    /// <summary>Hands a <c>FWRD</c>'s records on, in order (they are valid only during the call).</summary>
    public delegate void Delivery(Thid sender, ReadOnlySpan<byte> records);

    /// <summary>Messages held behind one gap at most; past that the gap is given up.</summary>
    public const int MaxHeld = 4096;

    /// <summary>Asks for one gap before it is given up.</summary>
    public const int MaxAsks = 5;

    private readonly Dictionary<Thid, Inbound> _senders = [];

    /// <summary>This process's first incarnation: streams numbered for it or a later one (a refutation) are ours.</summary>
    private readonly long _first = incarnation();

    /// <summary>Messages ignored: repeated, older than the stream's position, or for another incarnation of this transmitter.</summary>
    public long Ignored { get; private set; }

    /// <summary>Messages held behind gaps now.</summary>
    public int Held => _senders.Values.Sum(s => s.Held.Count);

    /// <summary>A <c>FWRD</c> numbered <paramref name="seq"/> from <paramref name="sender"/> at its incarnation.</summary>
    public void Receive(Thid sender, long senderIncarnation, long to, long seq, ReadOnlySpan<byte> records)
    {
        if (StateOf(sender, senderIncarnation, to, seq) is not { } s || seq < s.Expected || s.Held.ContainsKey(seq))
        {
            Ignored++;
            return;
        }

        if (seq == s.Expected)
        {
            s.Expected++;
            deliver(sender, records);
            Drain(sender, s);
            return;
        }

        s.Held[seq] = records.ToArray(); // behind a gap: kept, so copied out of the socket's buffer
        if (s.Held.Count > MaxHeld)
        {
            GiveUp(sender, s);
            return;
        }

        Ask(sender, s, GapEnd(s), force: false);
    }

    /// <summary>A <c>GONE</c>: the sender no longer holds <paramref name="from"/> to <paramref name="through"/>.</summary>
    public void Gone(Thid sender, long senderIncarnation, long to, long from, long through)
    {
        if (StateOf(sender, senderIncarnation, to, through) is not { } s || through < s.Expected)
        {
            return;
        }

        Skip(sender, s, through + 1);
    }

    /// <summary>A pulse names the last number of the sender's stream to us: a number beyond what we have is a lost tail.</summary>
    public void Pulse(Thid sender, long senderIncarnation, long to, long last)
    {
        if (StateOf(sender, senderIncarnation, to, last + 1) is { } s && last >= s.Expected)
        {
            s.AskedThrough = Math.Max(s.AskedThrough, last);
            Ask(sender, s, GapEnd(s), force: false);
        }
    }

    /// <summary>Asks again for gaps whose answer did not come; gives up a gap asked <see cref="MaxAsks"/> times.</summary>
    public void Tick()
    {
        foreach (var (sender, s) in _senders.ToList())
        {
            if ((s.Held.Count > 0 || s.AskedThrough >= s.Expected) && now() - s.AskedAt >= retryTicks)
            {
                if (s.Asks >= MaxAsks)
                {
                    GiveUp(sender, s);
                }
                else
                {
                    Ask(sender, s, GapEnd(s), force: true);
                }
            }
        }
    }

    /// <summary>The sender is dead or left: what is held goes on (the gaps before it lost), and its streams are forgotten.</summary>
    public void SenderGone(Thid sender)
    {
        if (_senders.Remove(sender, out var s) && s.Held.Count > 0)
        {
            GiveUp(sender, s);
        }
    }

    /// <summary>
    /// The stream a message of <paramref name="sender"/> belongs to, or null when it is not one of ours. A stream is
    /// numbered for an incarnation of this transmitter: any of this process's (a refutation raises ours while messages
    /// numbered for the one before are still on the way, and they are ours: dropping them was a silent loss of
    /// everything in flight), never one of an earlier run. A higher incarnation of the sender whose numbers go on from
    /// where the stream is (<paramref name="position"/> at or past it) is the sender's refutation, the same stream; one
    /// whose numbers start again is a restarted sender. A stream replaced by a newer one first hands on what it held,
    /// its gaps counted as lost.
    /// </summary>
    private Inbound? StateOf(Thid sender, long senderIncarnation, long to, long position)
    {
        if (to < _first || to > incarnation())
        {
            return null; // numbered for an earlier run of ours: not our stream
        }

        if (_senders.TryGetValue(sender, out var s))
        {
            if (senderIncarnation < s.Incarnation || to < s.To)
            {
                return null;
            }

            if (to == s.To && (senderIncarnation == s.Incarnation || position >= s.Expected))
            {
                s.Incarnation = senderIncarnation;
                return s;
            }

            Retire(sender, s);
        }

        // A new stream (first heard, a restarted sender, or numbered for our new incarnation) starts at 1: numbers
        // published before our subscription reached the sender are a gap like any other.
        s = new Inbound(senderIncarnation, to);
        _senders[sender] = s;
        return s;
    }

    /// <summary>A stream replaced by a newer one: what it held is handed on, and what it still missed is counted lost.</summary>
    private void Retire(Thid sender, Inbound s)
    {
        if (s.Held.Count > 0)
        {
            Skip(sender, s, s.Held.Keys.Last() + 1);
        }

        if (s.AskedThrough >= s.Expected)
        {
            lost(sender, s.AskedThrough - s.Expected + 1);
        }
    }

    /// <summary>Asks for the numbers from the stream's position through <paramref name="through"/>, at most once per retry time for one gap.</summary>
    private void Ask(Thid sender, Inbound s, long through, bool force)
    {
        if (!force && s.AskedFrom == s.Expected && now() - s.AskedAt < retryTicks)
        {
            return;
        }

        if (s.AskedFrom != s.Expected)
        {
            s.AskedFrom = s.Expected;
            s.Asks = 0;
        }

        s.AskedThrough = Math.Max(s.AskedThrough, through);
        s.AskedAt = now();
        s.Asks++;
        ask(sender, s.Expected, Math.Min(through, s.Expected + ResendRequest.MaxRange - 1));
    }

    /// <summary>The end of the first gap: the number before the first message held, or the last number asked for.</summary>
    private static long GapEnd(Inbound s) => s.Held.Count > 0 ? s.Held.Keys.First() - 1 : s.AskedThrough;

    private void Drain(Thid sender, Inbound s)
    {
        while (s.Held.Remove(s.Expected, out var next))
        {
            s.Expected++;
            deliver(sender, next);
        }
    }

    /// <summary>Ends the gap at the stream's position: up to the first held message the numbers are lost.</summary>
    private void GiveUp(Thid sender, Inbound s)
    {
        Skip(sender, s, GapEnd(s) + 1);
    }

    private void Skip(Thid sender, Inbound s, long resume)
    {
        while (s.Expected < resume)
        {
            if (s.Held.Remove(s.Expected, out var held))
            {
                deliver(sender, held);
                s.Expected++;
                continue;
            }

            var gapEnd = s.Expected;
            while (gapEnd < resume && !s.Held.ContainsKey(gapEnd))
            {
                gapEnd++;
            }

            lost(sender, gapEnd - s.Expected);
            s.Expected = gapEnd;
        }

        s.Asks = 0;
        s.AskedFrom = 0;
        Drain(sender, s);
    }

    private sealed class Inbound(long incarnation, long to)
    {
        public long Incarnation { get; set; } = incarnation;

        public long To { get; } = to;

        public long Expected { get; set; } = 1;

        public SortedDictionary<long, byte[]> Held { get; } = [];

        public long AskedThrough { get; set; }

        /// <summary>The stream position the current gap's asks were made at (a new position is a new gap).</summary>
        public long AskedFrom { get; set; }

        public long AskedAt { get; set; } = long.MinValue / 2;

        public int Asks { get; set; }
    }
}
