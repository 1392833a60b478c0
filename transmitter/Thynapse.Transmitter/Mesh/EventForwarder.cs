using System.Buffers;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The ingress half of cluster routing (PROTOCOL.md §12.11): events bound for other transmitters' cells are written, once
/// per event per destination, into that destination's <b>forward stream</b>; at the end of each burst each stream with
/// records publishes them as one numbered <c>FWRD</c> (topic: the destination's THID) and keeps it in a bounded
/// retransmit buffer, from which a <c>RSND</c> is answered; numbers no longer held are answered with <c>GONE</c>.
/// </summary>
/// <remarks>
/// Records of four kinds share a stream: multicatch events (kind 1), deliveries to one chosen cell (kind 2: anycatch,
/// targeted events), a holder's answers about those deliveries back to their ingress (kind 3), and its load reports (kind 4). Routing thread only.
/// Per event: a stamp compare and a copy into the stream's buffer; no allocation. <paramref name="memberOf"/> gives the
/// membership's record of a member (null: not a member); a record stays the same object for as long as the member is
/// known, so a stream keeps it and checks its state and incarnation there, without a lookup per event.
/// </remarks>
internal sealed class EventForwarder(PeerFeed feed, Func<Thid> self, Func<long> incarnation, Func<Thid, Member?> memberOf, int bufferBytes, TransmitterCounters counters)
{
    /// <summary>
    /// The highest record kind a member reads (its member record's <c>records</c>, §12.10): kind-4 load reports go only to
    /// members that read them. Null: every member reads every kind (tests of one build).
    /// </summary>
    public Func<Thid, int>? RecordsOf { get; init; }

    /// <summary>The serving members, for load gossip to all (<see cref="Load"/> without an ingress).</summary>
    public Func<IEnumerable<Thid>>? Serving { get; init; }

    /// <summary>
    /// A stream's records leave once they reach this many bytes, without waiting for the end of the burst: a <c>FWRD</c>
    /// stays bounded (a burst of 4,096 inbound messages of a megabyte each would otherwise be one message of gigabytes),
    /// what is copied on its way stays in cache, and the destination starts on them while this transmitter reads on.
    /// </summary>
    internal const int MaxForwardBytes = 256 * 1024;

    private const int MaxBuffered = 65_536;
    private readonly Dictionary<Thid, Stream> _streams = [];
    private readonly List<Stream> _dirty = [];
    private Stream? _last;
    private long _stamp;

    /// <summary>
    /// Test-only fault switch: returns true for a fresh <c>FWRD</c> (destination, number) that is to be dropped instead of
    /// published, as PUB drops at its high-water mark; it is kept for resends all the same. Null in production.
    /// </summary>
    internal Func<Thid, long, bool>? DropForTest { get; set; }

    /// <summary>Starts an event: the next <see cref="Multicatch"/> calls write it at most once per destination.</summary>
    public void BeginEvent() => _stamp++;

    /// <summary>Writes the current event into the forward stream to <paramref name="destination"/>, once per event.</summary>
    public bool Multicatch(Thid destination, in EventData e)
    {
        var stream = StreamTo(destination);
        if (stream is null || stream.Stamp == _stamp)
        {
            return false;
        }

        stream.Stamp = _stamp;
        ForwardRecords.Write(Written(stream), ForwardKind.Multicatch, e.OriginId, e.Sequence, e.Channel, e.Extension, e.Body);
        TransmitterCounters.Increment(ref counters.MeshEventsForwarded);
        return true;
    }

    /// <summary>
    /// Writes a kind-2 record to <paramref name="destination"/>: deliver the event to exactly the cell
    /// <paramref name="cell"/> (its 20-byte THID) there. False when the destination is not a serving member.
    /// </summary>
    public bool Deliver(Thid destination, ReadOnlySpan<byte> cell, DeliverFlags flags, in AnycatchFields anycatch, in EventData e)
    {
        if (StreamTo(destination) is not { } stream)
        {
            return false;
        }

        ForwardRecords.WriteDeliver(Written(stream), flags, e.OriginId, e.Sequence, cell, anycatch, e.Channel, e.Extension, e.Body);
        TransmitterCounters.Increment(ref counters.MeshEventsForwarded);
        return true;
    }

    /// <summary>Writes a kind-3 record to <paramref name="ingress"/>: what became of its delivery <paramref name="tag"/> to <paramref name="cell"/>.</summary>
    public bool Outcome(Thid ingress, ReadOnlySpan<byte> cell, ulong tag, RelayOutcome outcome, string? reason)
    {
        if (StreamTo(ingress) is not { } stream)
        {
            return false;
        }

        ForwardRecords.WriteOutcome(Written(stream), outcome, cell, tag, reason);
        TransmitterCounters.Increment(ref counters.MeshOutcomesRelayed);
        return true;
    }

    /// <summary>
    /// Writes a kind-4 record to <paramref name="ingress"/> (null: to every serving member, the periodic gossip): the
    /// local cell <paramref name="cell"/> holds <paramref name="load"/> unacknowledged deliveries of its subscription
    /// <paramref name="subscription"/>, counting each receiver's up to the tag <paramref name="seenOf"/> gives. Not
    /// written to a member that does not read kind 4.
    /// </summary>
    public void Load(Thid? ingress, ReadOnlySpan<byte> cell, uint subscription, int load, Func<Thid, ulong> seenOf)
    {
        if (ingress is { } one)
        {
            LoadTo(one, cell, subscription, load, seenOf(one));
            return;
        }

        foreach (var member in Serving?.Invoke() ?? [])
        {
            LoadTo(member, cell, subscription, load, seenOf(member));
        }
    }

    private bool LoadTo(Thid ingress, ReadOnlySpan<byte> cell, uint subscription, int load, ulong seen)
    {
        if ((RecordsOf is { } recordsOf && recordsOf(ingress) < (int)ForwardKind.Load) || StreamTo(ingress) is not { } stream)
        {
            return false;
        }

        ForwardRecords.WriteLoad(Written(stream), cell, subscription, load, seen);
        TransmitterCounters.Increment(ref counters.MeshLoadReports);
        return true;
    }

    /// <summary>The end of a burst: every stream with records publishes them as one numbered <c>FWRD</c>.</summary>
    public void Flush()
    {
        foreach (var stream in _dirty)
        {
            if (stream.Records > 0)
            {
                Publish(stream);
            }

            stream.Listed = false;
        }

        _dirty.Clear();
    }

    /// <summary>
    /// <c>RSND</c> from <paramref name="destination"/>: the numbers still held are published again (same numbers), those
    /// not held are named in one <c>GONE</c>.
    /// </summary>
    public void Resend(Thid destination, long from, long through)
    {
        if (!_streams.TryGetValue(destination, out var stream) || from > stream.Seq)
        {
            return; // nothing sent on this stream yet (or to an older incarnation of it): nothing to resend
        }

        through = Math.Min(through, stream.Seq);
        var oldest = stream.Held.Count == 0 ? stream.Seq + 1 : stream.Held.Peek().Seq;
        if (from < oldest)
        {
            var lastGone = Math.Min(through, oldest - 1);
            feed.Direct(stream.Topic, new GoneMessage(new StreamHeader(self(), incarnation(), stream.Seq), stream.To, from, lastGone).ToFrame());
            TransmitterCounters.Add(ref counters.MeshForwardsGone, lastGone - from + 1);
            from = lastGone + 1;
        }

        foreach (var (seq, body, length) in stream.Held)
        {
            if (seq >= from && seq <= through)
            {
                // Under this transmitter's incarnation now: one published before a refutation (ours) would be from an older
                // incarnation, which the receiver ignores, and the gap would end lost after its asks.
                feed.Direct(stream.Topic, Header(stream, seq), body, length);
                TransmitterCounters.Increment(ref counters.MeshForwardsResent);
            }
        }
    }

    /// <summary>The last number of each forward stream, for pulses (lost tails).</summary>
    public IReadOnlyDictionary<Thid, (long To, long Last)> LastNumbers => _streams.Where(s => s.Value.Seq > 0).ToDictionary(s => s.Key, s => (s.Value.To, s.Value.Seq));

    /// <summary>A member is gone (dead or left): its stream and buffer are dropped.</summary>
    public void Forget(Thid destination)
    {
        if (_streams.Remove(destination, out var stream) && !stream.Listed)
        {
            stream.Release(); // one with records of this burst is published at its end, to no one, and kept by nothing
        }

        if (_last?.Destination == destination)
        {
            _last = null;
        }
    }

    /// <summary>The stream's batch, for one more record (the stream is published at the end of the burst).</summary>
    private RentedWriter Written(Stream stream)
    {
        if (stream.Records > 0 && stream.Batch.Length >= MaxForwardBytes)
        {
            Publish(stream); // full: it leaves now, and the burst's next records start the next FWRD
        }

        if (stream.Records++ == 0 && !stream.Listed)
        {
            stream.Listed = true;
            _dirty.Add(stream);
        }

        return stream.Batch;
    }

    /// <summary>Publishes the stream's records as its next numbered <c>FWRD</c>, and keeps it for resends.</summary>
    private void Publish(Stream stream)
    {
        var seq = ++stream.Seq;
        var header = Header(stream, seq);
        // The records were written into a rented array, which is kept for resends as it is (no copy) and goes back to the
        // pool when the buffer lets it go; the next records rent another.
        var (body, length) = stream.Batch.Take();
        var kept = new Held(seq, body, length);
        stream.Records = 0;
        stream.Keep(kept, bufferBytes);
        if (DropForTest?.Invoke(stream.Destination, seq) == true)
        {
            return;
        }

        feed.Direct(stream.Topic, header, kept.Body, kept.Length);
        TransmitterCounters.Increment(ref counters.MeshSent);
    }

    private byte[] Header(Stream stream, long seq) => new ForwardMessage(new StreamHeader(self(), incarnation(), seq), stream.To).ToFrame();

    /// <summary>
    /// The stream to <paramref name="destination"/> while it serves (alive or suspect), numbered for its incarnation; null
    /// when it does not. The last stream used is checked first: a burst's events mostly go to one destination.
    /// </summary>
    private Stream? StreamTo(Thid destination)
    {
        var stream = _last;
        if (stream is null || stream.Destination != destination)
        {
            _streams.TryGetValue(destination, out stream);
        }

        if (stream is null || !stream.Current)
        {
            if (memberOf(destination) is not { State: PeerState.Alive or PeerState.Suspect } member)
            {
                return null;
            }

            if (stream is null || stream.To != member.Incarnation)
            {
                // A new incarnation of the destination (a restart, a refutation) gets a stream numbered from 1 again. What
                // the burst wrote to the old one leaves first, as its last FWRD: after a refutation the destination is the
                // same process, which takes messages numbered for any of its incarnations, and the old stream's come before
                // the new one's on the socket (dropping them lost acks relayed in the burst silently, and their events
                // were redelivered at the ack timeout). A restarted destination ignores them, and counts them.
                if (stream is not null && stream.Listed)
                {
                    if (stream.Records > 0)
                    {
                        Publish(stream);
                    }

                    _dirty.Remove(stream);
                }

                stream?.Release();
                stream = new Stream(member);
                _streams[destination] = stream;
            }
        }

        return _last = stream;
    }

    private sealed class Stream(Member member)
    {
        public Thid Destination { get; } = member.Id;

        public byte[] Topic { get; } = System.Text.Encoding.ASCII.GetBytes(member.Id.ToString());

        /// <summary>The destination's incarnation this stream is numbered for.</summary>
        public long To { get; } = member.Incarnation;

        /// <summary>True while the destination serves at the incarnation this stream is numbered for.</summary>
        public bool Current => member.State is PeerState.Alive or PeerState.Suspect && member.Incarnation == To;

        public RentedWriter Batch { get; } = new();

        public int Records { get; set; }

        /// <summary>In the burst's list of streams to publish at its end.</summary>
        public bool Listed { get; set; }

        public long Stamp { get; set; }

        public long Seq { get; set; }

        public Queue<Held> Held { get; } = new();

        private long _heldBytes;

        /// <summary>The stream is replaced or forgotten: what its buffer held goes back to the pool.</summary>
        public void Release()
        {
            while (Held.TryDequeue(out var gone))
            {
                ArrayPool<byte>.Shared.Return(gone.Body);
            }

            _heldBytes = 0;
        }

        public void Keep(Held message, int limit)
        {
            Held.Enqueue(message);
            _heldBytes += message.Length;
            while (Held.Count > 1 && (_heldBytes > limit || Held.Count > MaxBuffered))
            {
                var gone = Held.Dequeue();
                _heldBytes -= gone.Length;
                ArrayPool<byte>.Shared.Return(gone.Body);
            }
        }
    }

    /// <summary>
    /// A stream's records of the burst, in an array rented from the shared pool; <see cref="Take"/> hands the array over (to
    /// the retransmit buffer) and the next record rents another of the same size, so a steady flow does not grow again.
    /// </summary>
    private sealed class RentedWriter : IBufferWriter<byte>
    {
        private const int MinSize = 4096;
        private byte[]? _buffer;
        private int _written;
        private int _size = MinSize;

        /// <summary>Bytes written since the last <see cref="Take"/>.</summary>
        public int Length => _written;

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Ensure(sizeHint).AsMemory(_written);

        public Span<byte> GetSpan(int sizeHint = 0) => Ensure(sizeHint).AsSpan(_written);

        /// <summary>
        /// The records written: the first <c>Length</c> bytes of <c>Body</c>, rented (the taker returns it). A mostly empty
        /// array (a small burst after a large one) is given as an exact copy instead, so that what is kept stays near its
        /// length. The next burst starts with an array of this one's size.
        /// </summary>
        public (byte[] Body, int Length) Take()
        {
            var body = _buffer ?? throw new InvalidOperationException("no records were written");
            var length = _written;
            _buffer = null;
            _written = 0;
            _size = Math.Max(MinSize, length);
            if (body.Length > (2 * length) + MinSize)
            {
                var exact = ArrayPool<byte>.Shared.Rent(length);
                body.AsSpan(0, length).CopyTo(exact);
                ArrayPool<byte>.Shared.Return(body);
                body = exact;
            }

            return (body, length);
        }

        private byte[] Ensure(int sizeHint)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (_buffer is null)
            {
                _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(_size, sizeHint));
            }
            else if (_buffer.Length - _written < sizeHint)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
                _buffer.AsSpan(0, _written).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            return _buffer;
        }
    }

    /// <summary>A published <c>FWRD</c> kept for resends: its records are the first <see cref="Length"/> bytes of a rented <see cref="Body"/>.</summary>
    private readonly record struct Held(long Seq, byte[] Body, int Length);
}
