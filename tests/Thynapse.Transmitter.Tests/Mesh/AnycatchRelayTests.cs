using System.Buffers;
using Microsoft.Extensions.Time.Testing;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Tests.Engines;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The holder's relay of acknowledged anycatch (PROTOCOL.md §12.11) on a fake clock: a cell's answers go back to the
/// ingress under the ingress's tag, a leaving cell answers Gone for what it held, a dead ingress's entries are forgotten,
/// and an entry nobody answers expires; and the forward stream's kind-2 and kind-3 records read back as written.
/// </summary>
[TestClass]
public sealed class AnycatchRelayTests
{
    private static readonly Thid Ingress = Thid.NewRandom();
    private static readonly Thid OtherIngress = Thid.NewRandom();
    private readonly FakeTimeProvider _time = new();
    private readonly List<string> _sent = [];
    private AnycatchRelay _relay = null!;
    private long AckTimeout => _time.TimestampFrequency; // one second

    private readonly List<string> _loads = [];

    [TestInitialize]
    public void Start() => _relay = new AnycatchRelay(_time.GetTimestamp,
        (ingress, cell, tag, outcome, reason) => _sent.Add($"{(ingress == Ingress ? "i" : "o")} {Thid.FromBytes(cell)} {tag} {outcome} {reason}".TrimEnd()),
        (ingress, subscription, seenOf) => _loads.Add(
            $"{(ingress is null ? "all" : ingress == Ingress ? "i" : "o")} {subscription.Receiver.Id}#{subscription.Id} load {subscription.Load}"
            + (ingress is { } one ? $" seen {seenOf(one)}" : "")));

    [TestMethod]
    public void AfterABurstWithAnswers_EachIngressAnsweredGetsTheCellsLoadOnce_WithTheHighestOfItsTagsSeen()
    {
        var cell = EngineTestCells.NewCell("w");
        var a = Hold(Ingress, 5, cell);
        Hold(Ingress, 9, cell);
        var c = Hold(OtherIngress, 2, cell);
        Assert.AreEqual(3, Subscription(cell).Load, "a local cell's load counts what it holds for every ingress");

        _relay.ReportLoads();
        Assert.IsEmpty(_loads, "no answer in this burst: nothing to report");

        _relay.Answer(cell, a, RelayOutcome.Ack, null);
        _relay.Answer(cell, c, RelayOutcome.Progress, null);
        _relay.ReportLoads();
        CollectionAssert.AreEqual(new[] { $"i {cell.Id}#1 load 2 seen 9" }, _loads, "progress changes no load; the ack's ingress hears it once");
        _loads.Clear();
        _relay.ReportLoads();
        Assert.IsEmpty(_loads, "reported once per burst");
    }

    [TestMethod]
    public void LoadGossip_TellsEveryMemberOfLoadsThatChanged_UntilIdle()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = Hold(Ingress, 1, cell);
        var own = EngineTestCells.NewCell("w");
        var ownSubscription = EngineTestCells.SubscribeAcknowledging(own, 4, "jobs.>", AckTimeout);

        _relay.GossipLoads([ownSubscription]);
        CollectionAssert.AreEqual(new[] { $"all {cell.Id}#1 load 1" }, _loads, "only loads that changed (the own one is still 0)");
        _loads.Clear();
        _relay.GossipLoads([]);
        Assert.IsEmpty(_loads, "unchanged");

        _relay.Answer(cell, tag, RelayOutcome.Ack, null);
        _relay.GossipLoads([]);
        CollectionAssert.AreEqual(new[] { $"all {cell.Id}#1 load 0" }, _loads, "told idle once");
        _loads.Clear();
        _relay.GossipLoads([]);
        Assert.IsEmpty(_loads, "and then forgotten");
    }

    [TestMethod]
    public void ARemoteSubscriptionsLoad_IsItsHoldersReport_PlusWhatWasSentSinceItArrived()
    {
        var remote = EngineTestCells.NewCell("w");
        var subscription = EngineTestCells.SubscribeAcknowledging(remote, 1, "jobs.>", AckTimeout);
        var first = Send(subscription, 1);
        Assert.AreEqual(1, subscription.Load, "before any report: this ingress's own in-flight count");
        Assert.AreEqual(1, subscription.Holding);

        subscription.Release(first); // answered; the report that follows the answer on the holder's stream says idle
        subscription.LoadReported(0, seen: 1);
        var sent = new[] { Send(subscription, 2), Send(subscription, 3) };
        Assert.AreEqual(2, subscription.Load, "the report, plus two sent after it arrived");
        Assert.AreEqual(2, subscription.Holding, "neither seen by the report");

        subscription.LoadReported(5, seen: 3); // both arrived; three more from other ingresses
        Assert.AreEqual(5, subscription.Load, "a new report counts what reached the cell; what was on its way is taken to make up for what the cell answered since");
        Assert.AreEqual(5, subscription.Holding, "it saw both");

        var last = Send(subscription, 4);
        Assert.AreEqual(6, subscription.Load);
        Assert.AreEqual(6, subscription.Holding);
        subscription.Release(sent[0]);
        subscription.Release(sent[1]);
        Assert.AreEqual(6, subscription.Load, "the choice's estimate: the report plus one sent since, still in flight");
        Assert.AreEqual(4, subscription.Holding, "room: the report's five less this ingress's two it counted and that were answered since, plus the one it had not seen");
        subscription.Release(last);
        Assert.AreEqual(5, subscription.Load, "none of this ingress's left in flight: what was sent since the report is over");
        Assert.AreEqual(3, subscription.Holding, "the other ingresses' three");
        subscription.LoadReported(1, seen: 4);
        Assert.AreEqual(1, subscription.Load);
        Assert.AreEqual(1, subscription.Holding);
    }

    [TestMethod]
    public void ARemoteSubscriptionsRoom_IsCountedInWhatTheCellHolds_NotInWhatIsOnTheWire()
    {
        var remote = EngineTestCells.NewCell("w");
        var subscription = EngineTestCells.SubscribeAcknowledging(remote, 1, "jobs.>", AckTimeout); // prefetch 16
        subscription.LoadReported(0, seen: 0);
        for (ulong tag = 1; tag <= 16; tag++)
        {
            Send(subscription, tag);
        }

        Assert.IsFalse(subscription.HasRoom, "16 sent since the report: the prefetch is reached");
        subscription.LoadReported(16, seen: 16);
        Assert.IsFalse(subscription.HasRoom, "the cell holds all 16");
        subscription.LoadReported(4, seen: 16); // 12 answered, their answers on the way back behind this report
        Assert.AreEqual(16, subscription.InFlight, "this ingress has heard no answer yet");
        Assert.IsTrue(subscription.HasRoom, "the cell holds 4: room again, though the answers have not arrived");
        Assert.AreEqual(4, subscription.Holding, "the report saw every one of them");
    }

    [TestMethod]
    public void ReportsTakenWhileThisIngresssDeliveriesWereOnTheirWay_NeverLetItHandTheCellMoreThanTwiceThePrefetch()
    {
        var remote = EngineTestCells.NewCell("w");
        var subscription = EngineTestCells.SubscribeAcknowledging(remote, 1, "jobs.>", AckTimeout); // prefetch 16
        subscription.LoadReported(0, seen: 0);
        ulong tag = 0;
        var most = 0;
        // A holder that is behind: each of its reports says the cell holds 1 and has seen one more of this ingress's.
        for (ulong seen = 1; seen <= 40; seen++)
        {
            while (subscription.HasRoom)
            {
                Send(subscription, ++tag);
            }

            most = Math.Max(most, 1 + (int)(tag - (seen - 1))); // the cell's 1 and all of this ingress's it has not seen
            subscription.LoadReported(1, seen);
        }

        Assert.IsLessThanOrEqualTo(32, most, "what the cell holds or will hold of this ingress's: at most twice the prefetch");
        Assert.IsGreaterThan(16, most, "the estimate alone let it past the prefetch: the bound is what stopped it");
    }

    [TestMethod]
    public void ACellStoppedByTheBound_IsRefilledWhenHalfAWindowIsFree_NotOneSlotPerAnswer()
    {
        var remote = EngineTestCells.NewCell("w");
        var subscription = EngineTestCells.SubscribeAcknowledging(remote, 1, "jobs.>", AckTimeout); // prefetch 16
        ulong tag = 0;
        var sent = new List<Thynapse.Transmitter.Reliability.AnycatchDelivery>();
        for (var report = 0; report < 3; report++)
        {
            subscription.LoadReported(0, seen: 0); // a holder that is behind: it has seen none of them
            while (subscription.HasRoom)
            {
                sent.Add(Send(subscription, ++tag));
            }
        }

        Assert.AreEqual(32, subscription.Holding, "stopped by the bound");
        foreach (var delivery in sent.Take(7))
        {
            subscription.Release(delivery);
            Assert.IsFalse(subscription.HasRoom, $"{subscription.Holding} held or on the way: not yet half a window free");
        }

        subscription.Release(sent[7]);
        Assert.IsTrue(subscription.HasRoom, "half a window free: refilled in one run");
    }

    /// <summary>This ingress sends tracked delivery <paramref name="tag"/> to the remote <paramref name="subscription"/>.</summary>
    private static Thynapse.Transmitter.Reliability.AnycatchDelivery Send(Subscription subscription, ulong tag)
    {
        var delivery = new Thynapse.Transmitter.Reliability.AnycatchDelivery { Tag = tag };
        subscription.SentToHolder(tag);
        subscription.Hold(delivery);
        return delivery;
    }

    [TestMethod]
    public void ALocalSubscriptionsRoom_CountsWhatItHoldsForOtherIngresses()
    {
        var cell = EngineTestCells.NewCell("w");
        var subscription = Subscription(cell); // prefetch 16
        var tags = Enumerable.Range(1, 16).Select(i => Hold(OtherIngress, (ulong)i, cell)).ToList();
        Assert.IsFalse(subscription.HasRoom, "full with another ingress's work");

        foreach (var tag in tags.Take(8))
        {
            Assert.IsTrue(_relay.Answer(cell, tag, RelayOutcome.Ack, null, out var held));
            Assert.AreSame(subscription, held);
        }

        Assert.IsTrue(subscription.HasRoom, "half the prefetch free again");
    }

    [TestMethod]
    public void LoadReports_GoOnlyToMembersWhoseRecordsSayTheyReadKind4()
    {
        var current = Thid.NewRandom();
        var older = Thid.NewRandom();
        var counters = new Thynapse.Transmitter.Diagnostics.TransmitterCounters();
        var forwarder = new EventForwarder(null!, () => Ingress, () => 1, id => new Member(id, 1, PeerState.Alive, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2"), 1 << 20, counters)
        {
            RecordsOf = id => id == older ? 3 : ForwardRecords.HighestKind,
            Serving = () => [current, older],
        };

        forwarder.Load(null, Thid.NewRandom().ToByteArray(), 1, 5, _ => 0);
        forwarder.Load(older, Thid.NewRandom().ToByteArray(), 1, 5, _ => 0);

        Assert.AreEqual(1L, counters.MeshLoadReports, "one record, to the member that reads kind 4");
    }

    [TestMethod]
    public void AMemberRecordsRecordKinds_TravelInItsRecordAndInJoin_AndAreZeroWhenItDoesNotSay()
    {
        var record = new MemberRecord(Thid.NewRandom(), 7, PeerState.Alive, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", Records: ForwardRecords.HighestKind);
        Assert.AreEqual(4, MemberRecord.Read(record.ToJson(), 0, out _)!.Value.Records);

        var old = record.ToJson();
        old.Remove("records");
        Assert.AreEqual(0, MemberRecord.Read(old, 0, out _)!.Value.Records, "a member that predates the field");

        var join = Newtonsoft.Json.Linq.JObject.Parse(System.Text.Encoding.UTF8.GetString(new JoinMessage(record, []).ToFrame().AsSpan(Thynapse.Core.FrameHeader.PayloadOffset)));
        Assert.AreEqual(Thynapse.Core.ThynapseErrorCode.None, JoinMessage.TryRead(join, out var read, out var error), error);
        Assert.AreEqual(4, read!.Sender.Records);
    }

    private ulong Hold(Thid ingress, ulong ingressTag, LocalCell cell) => _relay.Hold(ingress, ingressTag, Subscription(cell));

    private Subscription Subscription(LocalCell cell) =>
        cell.Profile.Subscriptions.TryGetValue(1, out var held) ? held : EngineTestCells.SubscribeAcknowledging(cell, 1, "jobs.>", AckTimeout);

    [TestMethod]
    public void AnAnswer_GoesToItsIngressUnderTheIngressTag_Once()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = Hold(Ingress, 41, cell);

        Assert.IsTrue(AnycatchRelay.Owns(tag), "relayed tags are told apart by a bit");
        Assert.IsTrue(_relay.Answer(cell, tag, RelayOutcome.Progress, null));
        Assert.IsTrue(_relay.Answer(cell, tag, RelayOutcome.Ack, null));
        Assert.IsFalse(_relay.Answer(cell, tag, RelayOutcome.Ack, null), "answered already");
        Assert.IsTrue(_relay.Issued(tag), "a late answer, not an unknown one");
        Assert.IsFalse(_relay.Issued(tag + 1), "never given out");
        CollectionAssert.AreEqual(new[] { $"i {cell.Id} 41 Progress", $"i {cell.Id} 41 Ack" }, _sent);
    }

    [TestMethod]
    public void AnotherCellsAnswer_IsNotRelayed()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = Hold(Ingress, 7, cell);

        Assert.IsFalse(_relay.Answer(EngineTestCells.NewCell("w"), tag, RelayOutcome.Nack, "not mine"));
        Assert.IsEmpty(_sent);
        Assert.AreEqual(1, _relay.Count);
    }

    [TestMethod]
    public void ACellThatLeaves_AnswersGoneForWhatItHeld_ToEachIngress()
    {
        var leaving = EngineTestCells.NewCell("w");
        var staying = EngineTestCells.NewCell("w");
        Hold(Ingress, 1, leaving);
        Hold(OtherIngress, 2, leaving);
        Hold(Ingress, 3, staying);

        _relay.CellGone(leaving, "its cell left");

        CollectionAssert.AreEquivalent(new[] { $"i {leaving.Id} 1 Gone its cell left", $"o {leaving.Id} 2 Gone its cell left" }, _sent);
        Assert.AreEqual(1, _relay.Count, "the staying cell's delivery is still held");
    }

    [TestMethod]
    public void ADeadIngress_IsForgotten_WithoutAnswers()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = Hold(Ingress, 1, cell);
        Hold(OtherIngress, 2, cell);

        _relay.IngressGone(Ingress);

        Assert.IsFalse(_relay.Answer(cell, tag, RelayOutcome.Ack, null), "nobody waits for it");
        Assert.IsEmpty(_sent);
        Assert.AreEqual(1, _relay.Count);
    }

    [TestMethod]
    public void AnEntryNobodyAnswers_ExpiresTwoAckTimeoutsAfterItsLastNews()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = Hold(Ingress, 1, cell);
        _time.Advance(TimeSpan.FromSeconds(1.5));
        _relay.Answer(cell, tag, RelayOutcome.Progress, null); // the deadline starts again
        _time.Advance(TimeSpan.FromSeconds(1.9));
        _relay.Tick();
        Assert.AreEqual(1, _relay.Count, "progress kept it");

        _time.Advance(TimeSpan.FromSeconds(1)); // swept at most once per ack timeout
        _relay.Tick();
        Assert.AreEqual(0, _relay.Count);
        Assert.IsFalse(_relay.Answer(cell, tag, RelayOutcome.Ack, null));
        Assert.IsTrue(_relay.Issued(tag));
    }

    [TestMethod]
    public void DeliverAndOutcomeRecords_ReadBackAsWritten_AmongMulticatchOnes()
    {
        var origin = Thid.NewRandom();
        var cell = Thid.NewRandom();
        var writer = new ArrayBufferWriter<byte>();
        ForwardRecords.Write(writer, ForwardKind.Multicatch, origin.ToByteArray(), 9, "a.b"u8, default, "x"u8);
        ForwardRecords.WriteDeliver(writer, DeliverFlags.Anycatch | DeliverFlags.Tracked, origin.ToByteArray(), 10, cell.ToByteArray(),
            new AnycatchFields(3, 77, 2), "a.c"u8, "{}"u8, "body"u8);
        ForwardRecords.WriteOutcome(writer, RelayOutcome.Nack, cell.ToByteArray(), 77, new string('é', 400));
        ForwardRecords.WriteLoad(writer, cell.ToByteArray(), 3, 12, 88);

        var rest = writer.WrittenSpan;
        Assert.IsTrue(ForwardRecords.TryRead(ref rest, out var multicatch, out _));
        Assert.AreEqual(ForwardKind.Multicatch, multicatch.Kind);
        Assert.IsTrue(ForwardRecords.TryRead(ref rest, out var deliver, out _));
        Assert.AreEqual(ForwardKind.Deliver, deliver.Kind);
        Assert.AreEqual((byte)(DeliverFlags.Anycatch | DeliverFlags.Tracked), deliver.Flags);
        Assert.AreEqual(cell, Thid.FromBytes(deliver.Cell));
        Assert.AreEqual((3u, 77ul, (ushort)2, 10ul), (deliver.Subscription, deliver.Tag, deliver.Attempt, deliver.Sequence));
        Assert.AreEqual("a.c", System.Text.Encoding.ASCII.GetString(deliver.Channel));
        Assert.AreEqual("body", System.Text.Encoding.ASCII.GetString(deliver.Body));
        Assert.IsTrue(ForwardRecords.TryRead(ref rest, out var outcome, out _));
        Assert.AreEqual(ForwardKind.Outcome, outcome.Kind);
        Assert.AreEqual((byte)RelayOutcome.Nack, outcome.Flags);
        Assert.AreEqual(77ul, outcome.Tag);
        Assert.AreEqual(new string('é', ForwardRecords.MaxReasonChars), System.Text.Encoding.UTF8.GetString(outcome.Reason), "a long reason is cut");
        Assert.IsTrue(ForwardRecords.TryRead(ref rest, out var load, out _));
        Assert.AreEqual(ForwardKind.Load, load.Kind);
        Assert.AreEqual(cell, Thid.FromBytes(load.Cell));
        Assert.AreEqual((3u, 12u, 88ul), (load.Subscription, load.Load, load.Tag));
        Assert.IsFalse(ForwardRecords.TryRead(ref rest, out _, out var end));
        Assert.IsNull(end);
    }

    [TestMethod]
    public void AnOutcomeOfUnknownKind_OrATruncatedRecord_IsMalformed()
    {
        var writer = new ArrayBufferWriter<byte>();
        ForwardRecords.WriteOutcome(writer, RelayOutcome.Ack, Thid.NewRandom().ToByteArray(), 1, null);
        var bytes = writer.WrittenSpan.ToArray();
        bytes[1] = 9;
        ReadOnlySpan<byte> rest = bytes;
        Assert.IsFalse(ForwardRecords.TryRead(ref rest, out _, out var error));
        Assert.AreEqual("an outcome record of unknown outcome 9", error);

        rest = bytes.AsSpan(0, 20);
        Assert.IsFalse(ForwardRecords.TryRead(ref rest, out _, out error));
        Assert.AreEqual("a truncated outcome record", error);
    }
}
