using System.Text;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Tests;

/// <summary>
/// The routing thread's logic alone, driven burst by burst with a scripted sender instead of sockets: what it decides
/// where timing on real sockets would make the outcome vary.
/// </summary>
[TestClass]
public sealed class RoutingLogicTests
{
    [TestMethod]
    public void UnacknowledgedAnycatch_GoesInRunsAndSharesEvenOutOverBursts()
    {
        var clock = new ManualClock();
        var sender = new FullForDeliveries(full: false);
        var processor = NewProcessor(TransmitterOptions.Default with { TimeProvider = clock }, sender, new TransmitterCounters());
        var cells = new[] { Hello(processor, clock, "worker-a", "workers"), Hello(processor, clock, "worker-b", "workers") };
        foreach (var cell in cells)
        {
            Command(processor, clock, cell, "J SUBS {\"sub\":1,\"pattern\":\"jobs.*\",\"mode\":\"any\"}");
        }

        var publisher = Hello(processor, clock, "publisher");

        // 20 bursts of 300: runs of 256 leave a tail of 44, which must not land on the same cell every time (85/15).
        for (var burst = 0; burst < 20; burst++)
        {
            Publish(processor, clock, publisher, "jobs.render", (ulong)(burst * 300 + 1), 300);
        }

        var a = sender.Deliveries("worker-a");
        var b = sender.Deliveries("worker-b");
        Assert.AreEqual(6000, a + b, "every event went to one cell");
        Assert.IsLessThanOrEqualTo(AnycatchGroupRun, Math.Abs(a - b), $"shares within one run: {a} / {b}");
    }

    private const int AnycatchGroupRun = Thynapse.Transmitter.Routing.AnycatchGroup.RunLength;

    /// <summary>A cell that keeps overflowing gets at most one <c>SLOW</c> per 100 ms, and their <c>missed</c> counts add up to every drop (§8.2).</summary>
    [TestMethod]
    public void OverflowingCell_GetsOneSlowPer100MsAndTheCountsAddUp()
    {
        var clock = new ManualClock();
        var sender = new FullForDeliveries(full: true);
        var counters = new TransmitterCounters();
        // No grace: this is about what follows drops, not about holding input before them.
        var options = TransmitterOptions.Default with { TimeProvider = clock, FullQueueGrace = TimeSpan.Zero };
        var processor = NewProcessor(options, sender, counters);
        var slow = Hello(processor, clock, "slow");
        Command(processor, clock, slow, "J SUBS {\"sub\":1,\"pattern\":\"flood\",\"mode\":\"multi\"}");
        var publisher = Hello(processor, clock, "publisher");

        // 1,000 bursts of 10 events, 1 ms apart: one second in which every delivery frame overflows.
        const int bursts = 1000;
        for (var b = 0; b < bursts; b++)
        {
            Publish(processor, clock, publisher, "flood", (ulong)(b * 10 + 1), 10);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        clock.Advance(TimeSpan.FromMilliseconds(100));
        processor.Tick(clock.GetTimestamp()); // what is still unreported goes out with the next check

        var dropped = TransmitterCounters.Read(ref counters.DeliveriesDropped);
        Assert.AreEqual(10L * bursts, dropped, "every delivery overflowed");
        Assert.IsLessThanOrEqualTo(1000 / 100 + 2, sender.SlowNotices.Count, $"at most one SLOW per 100 ms, got {sender.SlowNotices.Count}");
        Assert.AreEqual(dropped, sender.SlowNotices.Sum(n => n.Value<long>("missed")), "the notices' missed counts add up to every drop");
    }

    /// <summary>
    /// A full queue holds a copy of the frame and the input (§8.2); what comes for the cell meanwhile queues behind it,
    /// and all of it leaves in order once the queue has room, progress keeping the hold past one grace.
    /// </summary>
    [TestMethod]
    public void FullQueue_HoldsInputAndLosesNothingWhileTheCellDrains()
    {
        var (clock, sender, counters, processor, cell, publisher) = CellBehindFullQueue("cell");
        sender.Sent.Clear();

        Publish(processor, clock, publisher, "flood", first: 1, count: 10);
        Assert.IsTrue(processor.HoldingInput, "the full queue holds input");
        Command(processor, clock, cell, "J BEAT {}");
        for (var burst = 1; burst < 4; burst++)
        {
            Publish(processor, clock, publisher, "flood", first: (ulong)(burst * 10) + 1, count: 10);
        }

        CollectionAssert.AreEqual(Array.Empty<string>(), sender.Sent, "nothing overtakes the held frame");

        // One delivery frame leaves every 60 ms: three graces (100 ms) in all, but never one without progress.
        for (var step = 1; step <= 3; step++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(60));
            sender.Room = 1;
            processor.RetryHeld(clock.GetTimestamp());
            Assert.IsTrue(processor.HoldingInput, $"still held at {step * 60} ms: the queue keeps draining");
            Assert.AreEqual(0L, TransmitterCounters.Read(ref counters.DeliveriesDropped), $"nothing dropped at {step * 60} ms");
        }

        clock.Advance(TimeSpan.FromMilliseconds(60));
        sender.Room = int.MaxValue;
        processor.RetryHeld(clock.GetTimestamp());
        Assert.IsFalse(processor.HoldingInput, "input is read again once the held frames left");
        CollectionAssert.AreEqual(new[] { "DLVR", "BEAT", "DLVR", "DLVR", "DLVR" }, sender.Sent, "held frames left in the order they were made");
        Assert.AreEqual(40, sender.Deliveries("cell"));
        Assert.AreEqual(0L, TransmitterCounters.Read(ref counters.DeliveriesDropped));
        Assert.AreEqual(1L, TransmitterCounters.Read(ref counters.InputHolds));
    }

    /// <summary>A hold ends ten graces after it began even if the queue keeps draining: everyone else waits meanwhile.</summary>
    [TestMethod]
    public void Hold_EndsAfterTenGracesHoweverTheCellProgresses()
    {
        var (clock, sender, counters, processor, _, publisher) = CellBehindFullQueue("cell");

        // One frame of the 20 leaves every 60 ms: 16 have left at 960 ms, the 17th at 1,020 ms, past ten graces.
        HoldTwentyFramesAndTakeOnePer60Ms(processor, clock, sender, publisher, steps: 17);

        Assert.IsFalse(processor.HoldingInput, "the hold ended at ten graces");
        Assert.AreEqual(170, sender.Deliveries("cell"));
        Assert.AreEqual(30L, TransmitterCounters.Read(ref counters.DeliveriesDropped), "the three frames still held were dropped and counted");
    }

    /// <summary>
    /// Nor does a hold outlast half the liveness timeout: cells whose beats wait unread would give up on the
    /// transmitter (1 s liveness: ten graces would be 1 s, the hold ends at 500 ms).
    /// </summary>
    [TestMethod]
    public void Hold_EndsAtHalfTheLivenessTimeout()
    {
        var (clock, sender, counters, processor, _, publisher) = CellBehindFullQueue("cell", liveness: TimeSpan.FromSeconds(1));
        HoldTwentyFramesAndTakeOnePer60Ms(processor, clock, sender, publisher, steps: 9);

        Assert.IsFalse(processor.HoldingInput, "the hold ended at 540 ms, past half the liveness timeout");
        Assert.AreEqual(90, sender.Deliveries("cell"));
        Assert.AreEqual(110L, TransmitterCounters.Read(ref counters.DeliveriesDropped));
    }

    /// <summary>
    /// A cell that takes nothing for a grace loses what was held, counted and told; it then drops at once for a pause
    /// that doubles with each such hold in a row, so a stuck cell holds everyone else ever less often.
    /// </summary>
    [TestMethod]
    public void CellTakingNothingForAGrace_IsDroppedAndHoldsInputEverLessOften()
    {
        var (clock, sender, counters, processor, cell, publisher) = CellBehindFullQueue("stuck");
        ulong seq = 0;

        void Burst() => Publish(processor, clock, publisher, "flood", first: (seq += 10) - 9, count: 10);

        void HoldUntilTheGraceEnds()
        {
            Burst();
            Assert.IsTrue(processor.HoldingInput, "a full queue holds input");
            clock.Advance(TimeSpan.FromMilliseconds(99));
            processor.RetryHeld(clock.GetTimestamp());
            Assert.IsTrue(processor.HoldingInput, "still within the grace");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            processor.RetryHeld(clock.GetTimestamp());
            Assert.IsFalse(processor.HoldingInput, "the grace is over");
        }

        HoldUntilTheGraceEnds();
        Assert.AreEqual(10L, TransmitterCounters.Read(ref counters.DeliveriesDropped), "the held frame was dropped and counted");

        foreach (var pause in new[] { 1, 2, 4 })
        {
            clock.Advance(TimeSpan.FromSeconds(pause) - TimeSpan.FromMilliseconds(1));
            Burst();
            Assert.IsFalse(processor.HoldingInput, $"within the {pause} s pause a full queue drops at once");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            HoldUntilTheGraceEnds();
        }

        sender.Room = int.MaxValue;
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Command(processor, clock, cell, "J BEAT {}"); // seven seconds on the manual clock: show it is alive
        processor.Tick(clock.GetTimestamp());
        Assert.AreEqual(TransmitterCounters.Read(ref counters.DeliveriesDropped), sender.SlowNotices.Sum(n => n.Value<long>("missed")), "every drop was told");
        Assert.AreEqual(4L, TransmitterCounters.Read(ref counters.InputHolds));
    }

    /// <summary>A processor whose sender finds every delivery frame's queue full, with one cell caught on "flood" and a publisher.</summary>
    private static (ManualClock Clock, FullForDeliveries Sender, TransmitterCounters Counters, CommandProcessor Processor, byte[] Cell, byte[] Publisher)
        CellBehindFullQueue(string name, TimeSpan? liveness = null)
    {
        var clock = new ManualClock();
        var sender = new FullForDeliveries(full: true);
        var counters = new TransmitterCounters();
        // A grace of 100 ms: the steps below are counted in it.
        var options = TransmitterOptions.Default with { TimeProvider = clock, FullQueueGrace = TimeSpan.FromMilliseconds(100) };
        if (liveness is { } timeout)
        {
            options = options with { LivenessTimeout = timeout };
        }

        var processor = NewProcessor(options, sender, counters);
        var cell = Hello(processor, clock, name);
        Command(processor, clock, cell, "J SUBS {\"sub\":1,\"pattern\":\"flood\",\"mode\":\"multi\"}");
        return (clock, sender, counters, processor, cell, Hello(processor, clock, "publisher"));
    }

    /// <summary>
    /// Publishes 20 frames of 10 events to a cell behind a full queue (all held), then lets one frame leave every 60 ms
    /// for <paramref name="steps"/> steps, checking that input is still held before each.
    /// </summary>
    private static void HoldTwentyFramesAndTakeOnePer60Ms(CommandProcessor processor, ManualClock clock, FullForDeliveries sender, byte[] publisher, int steps)
    {
        for (var burst = 0; burst < 20; burst++)
        {
            Publish(processor, clock, publisher, "flood", first: (ulong)(burst * 10) + 1, count: 10);
        }

        for (var step = 1; step <= steps; step++)
        {
            Assert.IsTrue(processor.HoldingInput, $"held before {step * 60} ms");
            clock.Advance(TimeSpan.FromMilliseconds(60));
            sender.Room = 1;
            processor.RetryHeld(clock.GetTimestamp());
        }
    }

    private static CommandProcessor NewProcessor(TransmitterOptions options, IFrameSender sender, TransmitterCounters counters) =>
        new(options, Thid.NewRandom(), "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", sender, counters);

    private static void Publish(CommandProcessor processor, TimeProvider clock, byte[] publisher, string channel, ulong first, int count)
    {
        var batch = new FrameBatch(Thynapse.Core.Command.Evnt);
        for (var i = 0; i < count; i++)
        {
            EventRecordWriter.Write(batch, false, first + (ulong)i, channel, default, default, new byte[16]);
            batch.RecordWritten();
        }

        processor.Handle(publisher, batch.Frame, default, 1, 0, clock.GetTimestamp());
        processor.FlushDirty();
        batch.Reset();
    }

    /// <summary>A clock that moves only when told (timestamps in ticks of 100 ns).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _now = TimeSpan.TicksPerSecond;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _now;

        public void Advance(TimeSpan by) => _now += by.Ticks;
    }

    private static byte[] Hello(CommandProcessor processor, TimeProvider clock, string name, string? service = null)
    {
        var routingId = Encoding.ASCII.GetBytes(name);
        var hello = new JObject { ["id"] = Thid.NewRandom().ToString(), ["service"] = service ?? name, ["encodings"] = new JArray("B", "J") };
        Command(processor, clock, routingId, "J HELO " + hello.ToString(Newtonsoft.Json.Formatting.None));
        return routingId;
    }

    private static void Command(CommandProcessor processor, TimeProvider clock, byte[] routingId, string header) =>
        processor.Handle(routingId, Encoding.UTF8.GetBytes(header), default, 1, 0, clock.GetTimestamp());

    /// <summary>
    /// With <paramref name="full"/>, every delivery frame finds the cell's queue full; everything else goes out (SLOWs
    /// are kept). Without, deliveries go out too and are counted per cell. <see cref="Room"/> changes that on the
    /// way: the number of further delivery frames that find room before the queue is full again.
    /// </summary>
    private sealed class FullForDeliveries(bool full) : IFrameSender
    {
        private readonly Dictionary<string, int> _delivered = [];

        public int Room { get; set; } = full ? 0 : int.MaxValue;

        public List<JObject> SlowNotices { get; } = [];

        /// <summary>The command of every frame that went out, in order.</summary>
        public List<string> Sent { get; } = [];

        public int Deliveries(string cell) => _delivered.GetValueOrDefault(cell);

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> frame)
        {
            if (frame.StartsWith("B DLVR "u8))
            {
                if (Room == 0)
                {
                    return SendOutcome.Full;
                }

                if (Room != int.MaxValue)
                {
                    Room--;
                }

                var records = 0;
                var reader = new DeliveryRecordReader(frame[FrameHeader.PayloadOffset..]);
                while (reader.TryRead(out _, out _))
                {
                    records++;
                }

                var cell = Encoding.ASCII.GetString(routingId);
                _delivered[cell] = _delivered.GetValueOrDefault(cell) + records;
                Sent.Add("DLVR");
                return SendOutcome.Sent;
            }

            Sent.Add(Encoding.ASCII.GetString(frame[2..6]));
            if (frame.StartsWith("J SLOW "u8))
            {
                SlowNotices.Add(JObject.Parse(Encoding.UTF8.GetString(frame[7..])));
            }

            return SendOutcome.Sent;
        }

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body) =>
            Room == 0 && header.StartsWith("J DLVR "u8) ? SendOutcome.Full : Send(routingId, header);
    }
}
