using System.Buffers;
using System.Text;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The forward stream's wire (PROTOCOL.md §12.11) on its fast paths: the <c>FWRD</c> header written and read without a
/// JSON parser must be the JSON writer's bytes and read as the JSON reader does; event records are checked before every
/// field they read; a stream follows its destination's state and incarnation without a lookup per event.
/// </summary>
[TestClass]
public sealed class ForwardWireTests
{
    public static IEnumerable<object[]> Headers =>
    [
        [1L, 1L, 1L],
        [7L, 123_456L, 9L],
        [long.MaxValue, long.MaxValue, long.MaxValue],
        [1L, 0L, 2L],
    ];

    [TestMethod]
    [DynamicData(nameof(Headers))]
    public void TheFwrdHeader_IsTheJsonWritersBytes_AndReadsBackWithoutTheParser(long incarnation, long seq, long to)
    {
        var message = new ForwardMessage(new StreamHeader(Thid.NewRandom(), incarnation, seq), to);
        var frame = message.ToFrame();
        CollectionAssert.AreEqual(message.ToJsonFrame(), frame, Encoding.UTF8.GetString(frame));

        Assert.IsTrue(ForwardMessage.TryReadCanonical(frame, out var fast));
        Assert.AreEqual(message, fast);
        Assert.IsTrue(MeshFrames.TryParse(frame, out var command, out var json, out var error), error);
        Assert.AreEqual(MeshCommand.Fwrd, command);
        Assert.IsTrue(ForwardMessage.TryRead(json!, out var slow, out error), error);
        Assert.AreEqual(message, slow);
    }

    [TestMethod]
    [DataRow("J FWRD {\"id\": \"{0}\",\"incarnation\":1,\"seq\":2,\"to\":3}", DisplayName = "a space")]
    [DataRow("J FWRD {\"incarnation\":1,\"id\":\"{0}\",\"seq\":2,\"to\":3}", DisplayName = "another order")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":1,\"seq\":2,\"to\":3,\"x\":1}", DisplayName = "another field")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":1,\"seq\":2,\"to\":3} ", DisplayName = "trailing space")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":1,\"seq\":2.0,\"to\":3}", DisplayName = "a fraction")]
    public void AFwrdHeaderInAnotherForm_IsLeftToTheJsonReader_WhichReadsItAsBefore(string form)
    {
        var id = Thid.NewRandom();
        var frame = Encoding.UTF8.GetBytes(form.Replace("{0}", id.ToString()));
        Assert.IsFalse(ForwardMessage.TryReadCanonical(frame, out _));

        Assert.IsTrue(MeshFrames.TryParse(frame, out _, out var json, out var error), error);
        if (ForwardMessage.TryRead(json!, out var slow, out _))
        {
            Assert.AreEqual(new ForwardMessage(new StreamHeader(id, 1, 2), 3), slow);
        }
    }

    [TestMethod]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":0,\"seq\":2,\"to\":3}", DisplayName = "incarnation 0")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":9223372036854775808,\"seq\":2,\"to\":3}", DisplayName = "incarnation 2^63")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":1,\"seq\":9223372036854775808,\"to\":3}", DisplayName = "seq 2^63")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":1,\"seq\":2,\"to\":18446744073709551616}", DisplayName = "to past 64 bits")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":01,\"seq\":2,\"to\":3}", DisplayName = "a leading zero")]
    [DataRow("J FWRD {\"id\":\"{0}\",\"incarnation\":-1,\"seq\":2,\"to\":3}", DisplayName = "negative")]
    [DataRow("J FWRD {\"id\":\"zz{0}\",\"incarnation\":1,\"seq\":2,\"to\":3}", DisplayName = "not a THID")]
    [DataRow("J FWRD {\"id\":\"{0}", DisplayName = "cut short")]
    public void AFwrdHeaderOutOfRange_IsNotReadByTheFastPath(string form)
    {
        var frame = Encoding.UTF8.GetBytes(form.Replace("{0}", Thid.NewRandom().ToString()));
        Assert.IsFalse(ForwardMessage.TryReadCanonical(frame, out _));
    }

    [TestMethod]
    public void EveryCutOfAnEventRecord_IsATruncatedRecord()
    {
        var origin = Thid.NewRandom().ToByteArray();
        var multicatch = new ArrayBufferWriter<byte>();
        ForwardRecords.Write(multicatch, ForwardKind.Multicatch, origin, 9, "a.b"u8, "{}"u8, "body"u8);
        var deliver = new ArrayBufferWriter<byte>();
        ForwardRecords.WriteDeliver(deliver, DeliverFlags.Anycatch, origin, 10, Thid.NewRandom().ToByteArray(), new AnycatchFields(3, 77, 2), "a.c"u8, "{}"u8, "body"u8);
        foreach (var record in new[] { multicatch.WrittenSpan.ToArray(), deliver.WrittenSpan.ToArray() })
        {
            for (var length = 1; length < record.Length; length++)
            {
                ReadOnlySpan<byte> rest = record.AsSpan(0, length);
                Assert.IsFalse(ForwardRecords.TryRead(ref rest, out _, out var error), $"{length} of {record.Length} bytes");
                Assert.AreEqual("a truncated event record", error, $"{length} of {record.Length} bytes");
            }

            ReadOnlySpan<byte> whole = record;
            Assert.IsTrue(ForwardRecords.TryRead(ref whole, out var read, out _));
            Assert.AreEqual("body", Encoding.ASCII.GetString(read.Body));
            Assert.AreEqual("{}", Encoding.ASCII.GetString(read.Extension));
            Assert.IsTrue(whole.IsEmpty);
        }
    }

    [TestMethod]
    public void AStream_FollowsItsDestinationsStateAndIncarnation()
    {
        using var feed = new PeerFeed(TransmitterOptions.Default with { EventsEndpoint = "tcp://127.0.0.1:0" });
        var holder = new Member(Thid.NewRandom(), 1, PeerState.Alive, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
        var other = new Member(Thid.NewRandom(), 5, PeerState.Alive, "tcp://127.0.0.1:3", "tcp://127.0.0.1:4");
        var members = new Dictionary<Thid, Member> { [holder.Id] = holder, [other.Id] = other };
        var forwarder = new EventForwarder(feed, Thid.NewRandom, () => 1, id => members.GetValueOrDefault(id), 1 << 20, new TransmitterCounters());

        Forward(holder);
        Forward(other);
        Forward(holder);
        Assert.AreEqual((1L, 2L), forwarder.LastNumbers[holder.Id]);
        Assert.AreEqual((5L, 1L), forwarder.LastNumbers[other.Id]);

        holder.State = PeerState.Suspect;
        Forward(holder);
        Assert.AreEqual((1L, 3L), forwarder.LastNumbers[holder.Id], "a suspect still serves");

        holder.State = PeerState.Dead;
        forwarder.BeginEvent();
        Assert.IsFalse(forwarder.Multicatch(holder.Id, Event()), "a dead member has no stream");

        holder.State = PeerState.Alive;
        holder.Incarnation = 2;
        Forward(holder);
        Assert.AreEqual((2L, 1L), forwarder.LastNumbers[holder.Id], "a new incarnation is numbered from 1");

        forwarder.Forget(holder.Id);
        Assert.IsFalse(forwarder.LastNumbers.ContainsKey(holder.Id));
        members.Remove(holder.Id);
        forwarder.BeginEvent();
        Assert.IsFalse(forwarder.Multicatch(holder.Id, Event()), "a forgotten member has no stream");

        void Forward(Member to)
        {
            forwarder.BeginEvent();
            Assert.IsTrue(forwarder.Multicatch(to.Id, Event()));
            Assert.IsFalse(forwarder.Multicatch(to.Id, Event()), "once per event per destination");
            forwarder.Flush();
        }
    }

    [TestMethod]
    public void RecordsWrittenBeforeTheDestinationsRefutation_LeaveOnTheOldStream_BeforeTheNewOnesFirst()
    {
        // A holder relays acks to its ingress in a burst, and hears the ingress refute a suspicion (a higher incarnation)
        // in the same burst: the acks written before must still leave (they were dropped, and their events redelivered at
        // the ack timeout and handled twice).
        using var feed = new PeerFeed(TransmitterOptions.Default with { EventsEndpoint = "tcp://127.0.0.1:0" });
        var ingress = new Member(Thid.NewRandom(), 1, PeerState.Alive, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
        var counters = new TransmitterCounters();
        var published = new List<long>();
        var forwarder = new EventForwarder(feed, Thid.NewRandom, () => 1, _ => ingress, 1 << 20, counters)
        {
            DropForTest = (_, seq) =>
            {
                published.Add(seq);
                return false;
            },
        };
        var cell = Thid.NewRandom().ToByteArray();

        Assert.IsTrue(forwarder.Outcome(ingress.Id, cell, 7, RelayOutcome.Ack, null));
        Assert.IsTrue(forwarder.Outcome(ingress.Id, cell, 8, RelayOutcome.Ack, null));
        Assert.IsEmpty(published, "nothing leaves before the end of the burst");
        ingress.Incarnation = 2; // the refutation, heard mid-burst
        Assert.IsTrue(forwarder.Outcome(ingress.Id, cell, 9, RelayOutcome.Ack, null));
        Assert.HasCount(1, published, "the old stream's records left when the new stream began");
        forwarder.Flush();

        CollectionAssert.AreEqual(new[] { 1L, 1L }, published, "the old stream's FWRD 1 (two acks), then the new stream's FWRD 1 (one)");
        Assert.AreEqual(2L, counters.MeshSent);
        Assert.AreEqual(3L, counters.MeshOutcomesRelayed);
        Assert.AreEqual((2L, 1L), forwarder.LastNumbers[ingress.Id], "the new stream numbered from 1");
    }

    [TestMethod]
    [Timeout(30_000)]
    public void AResend_AfterThisTransmittersRefutation_CarriesItsIncarnationNow()
    {
        // A FWRD published before this transmitter refuted a suspicion, asked for again after it: resent under the
        // headers it was published with, it came from an older incarnation, which the receiver ignores (§12.11), until
        // it gave the gap up as lost.
        using var feed = new PeerFeed(TransmitterOptions.Default with { EventsEndpoint = "tcp://127.0.0.1:0" });
        var holder = new Member(Thid.NewRandom(), 1, PeerState.Alive, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
        var counters = new TransmitterCounters();
        var incarnation = 5L;
        var forwarder = new EventForwarder(feed, () => holder.Id, () => incarnation, _ => holder, 1 << 20, counters);
        using var listener = new NetMQ.Sockets.SubscriberSocket();
        listener.Options.Linger = TimeSpan.Zero;
        listener.Connect(feed.Endpoint);
        listener.Subscribe(holder.Id.ToString());
        forwarder.BeginEvent();
        Assert.IsTrue(forwarder.Multicatch(holder.Id, Event()));
        forwarder.Flush(); // FWRD 1 at incarnation 5 (to no one yet, perhaps: the subscription may still be on its way)
        incarnation = 6; // the refutation

        // Asked for again until the subscription is in place; what arrives at incarnation 5 is the first publication (or,
        // before the fix, every resend).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        NetMQ.NetMQMessage? message = null;
        JObject? resent = null;
        while (resent is null && DateTime.UtcNow < deadline)
        {
            forwarder.Resend(holder.Id, 1, 1);
            while (resent is null && listener.TryReceiveMultipartMessage(TimeSpan.FromMilliseconds(50), ref message))
            {
                var header = JObject.Parse(message[1].ConvertToString()[7..]);
                resent = (long)header["incarnation"]! == 6 ? header : null;
            }
        }

        Assert.IsNotNull(resent, $"no FWRD at incarnation 6 within 10 s ({counters.MeshForwardsResent} resent)");
        Assert.AreEqual(1L, (long)resent["seq"]!, "the number it was published with");
        Assert.AreEqual(1L, (long)resent["to"]!, "for the destination's incarnation it was written for");
    }

    [TestMethod]
    public void ABurstsRecordsForOneDestination_LeaveInFwrdsOfAtMostTheirBound()
    {
        using var feed = new PeerFeed(TransmitterOptions.Default with { EventsEndpoint = "tcp://127.0.0.1:0" });
        var holder = new Member(Thid.NewRandom(), 1, PeerState.Alive, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
        var counters = new TransmitterCounters();
        var forwarder = new EventForwarder(feed, Thid.NewRandom, () => 1, _ => holder, 64 << 20, counters);
        var body = new byte[1000];
        var events = (EventForwarder.MaxForwardBytes / body.Length * 2) + 10; // a little more than two FWRDs' worth
        for (var i = 0; i < events; i++)
        {
            forwarder.BeginEvent();
            Assert.IsTrue(forwarder.Multicatch(holder.Id, new Routing.EventData(Origin, Thid.FromBytes(Origin), (ulong)i, "a.b"u8, body, null, Token, Token)));
        }

        Assert.AreEqual(2L, forwarder.LastNumbers[holder.Id].Last, "two full ones left during the burst");
        forwarder.Flush();
        Assert.AreEqual(3L, forwarder.LastNumbers[holder.Id].Last, "the rest at its end");
        Assert.AreEqual(3L, counters.MeshSent);
        Assert.AreEqual(events, counters.MeshEventsForwarded);
    }

    private static readonly byte[] Origin = Thid.NewRandom().ToByteArray();
    private static readonly object Token = new();

    private static Routing.EventData Event() => new(Origin, Thid.FromBytes(Origin), 1, "a.b"u8, "x"u8, null, Token, Token);
}
