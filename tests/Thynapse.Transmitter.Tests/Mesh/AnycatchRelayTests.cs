using System.Buffers;
using Microsoft.Extensions.Time.Testing;
using Thynapse.Core;
using Thynapse.Transmitter.Mesh;
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

    [TestInitialize]
    public void Start() => _relay = new AnycatchRelay(_time.GetTimestamp, (ingress, cell, tag, outcome, reason) =>
        _sent.Add($"{(ingress == Ingress ? "i" : "o")} {Thid.FromBytes(cell)} {tag} {outcome} {reason}".TrimEnd()));

    [TestMethod]
    public void AnAnswer_GoesToItsIngressUnderTheIngressTag_Once()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = _relay.Hold(Ingress, 41, cell, AckTimeout);

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
        var tag = _relay.Hold(Ingress, 7, cell, AckTimeout);

        Assert.IsFalse(_relay.Answer(EngineTestCells.NewCell("w"), tag, RelayOutcome.Nack, "not mine"));
        Assert.IsEmpty(_sent);
        Assert.AreEqual(1, _relay.Count);
    }

    [TestMethod]
    public void ACellThatLeaves_AnswersGoneForWhatItHeld_ToEachIngress()
    {
        var leaving = EngineTestCells.NewCell("w");
        var staying = EngineTestCells.NewCell("w");
        _relay.Hold(Ingress, 1, leaving, AckTimeout);
        _relay.Hold(OtherIngress, 2, leaving, AckTimeout);
        _relay.Hold(Ingress, 3, staying, AckTimeout);

        _relay.CellGone(leaving, "its cell left");

        CollectionAssert.AreEquivalent(new[] { $"i {leaving.Id} 1 Gone its cell left", $"o {leaving.Id} 2 Gone its cell left" }, _sent);
        Assert.AreEqual(1, _relay.Count, "the staying cell's delivery is still held");
    }

    [TestMethod]
    public void ADeadIngress_IsForgotten_WithoutAnswers()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = _relay.Hold(Ingress, 1, cell, AckTimeout);
        _relay.Hold(OtherIngress, 2, cell, AckTimeout);

        _relay.IngressGone(Ingress);

        Assert.IsFalse(_relay.Answer(cell, tag, RelayOutcome.Ack, null), "nobody waits for it");
        Assert.IsEmpty(_sent);
        Assert.AreEqual(1, _relay.Count);
    }

    [TestMethod]
    public void AnEntryNobodyAnswers_ExpiresTwoAckTimeoutsAfterItsLastNews()
    {
        var cell = EngineTestCells.NewCell("w");
        var tag = _relay.Hold(Ingress, 1, cell, AckTimeout);
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
