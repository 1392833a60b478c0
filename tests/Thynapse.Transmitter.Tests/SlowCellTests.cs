namespace Thynapse.Transmitter.Tests;

/// <summary>A cell that does not read: its deliveries are dropped, counted and reported to it (PROTOCOL.md §8.2).</summary>
[TestClass]
public sealed class SlowCellTests : TestBase
{
    [TestMethod]
    public void Grace_Is500MsUnlessSetOrAQuarterOfTheLivenessTimeoutIsShorter()
    {
        Assert.AreEqual(TimeSpan.FromMilliseconds(500), TransmitterOptions.Default.FullQueueGrace);

        var quick = TransmitterOptions.Default with { HeartbeatInterval = TimeSpan.FromMilliseconds(250), LivenessTimeout = TimeSpan.FromSeconds(1) };
        Assert.AreEqual(TimeSpan.FromMilliseconds(250), quick.FullQueueGrace, "a short liveness timeout shortens the default");
        quick.Validate();

        var set = TransmitterOptions.Default with { FullQueueGrace = TimeSpan.FromMilliseconds(40), LivenessTimeout = TimeSpan.FromSeconds(30) };
        Assert.AreEqual(TimeSpan.FromMilliseconds(40), set.FullQueueGrace, "a grace that was set stays");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => (quick with { FullQueueGrace = TimeSpan.FromSeconds(1) }).Validate());
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task SlowCell_IsToldExactlyHowManyDeliveriesItMissed()
    {
        const int events = 20_000;
        await using var transmitter = Transmitters.StartLoopback(o => o with { CellQueueFrames = 10 });
        var channel = TestIds.Next("flood");
        using var slow = RawClient.Subscribed(transmitter.CommandEndpoint, "slow", channel, receiveQueue: 2);
        using var steady = RawClient.Subscribed(transmitter.CommandEndpoint, "steady", channel);
        using var publisher = RawClient.Welcomed(transmitter.CommandEndpoint, "pub");

        // The steady cell reads all along; the slow one reads nothing while the burst is routed.
        var steadyTally = Task.Run(async () =>
        {
            var tally = new Tally();
            await Eventually.That("the steady cell accounts for every event", () => tally.Drain(steady) == events, TimeSpan.FromSeconds(45), Ct);
            return tally;
        }, Ct);
        // 1 KiB bodies: 20 MB in all, more than the kernel buffers towards the slow cell can take.
        await Flood(publisher, channel, events, bodyBytes: 1024);

        publisher.Expect("ACPT", "the last event's confirmation");
        Assert.IsGreaterThan(0L, transmitter.Stats.DeliveriesDropped, "the burst overflowed the slow cell's queue, past the grace");

        var slowTally = new Tally();
        await Eventually.That("the slow cell accounts for every event", () => slowTally.Drain(slow) == events, TimeSpan.FromSeconds(45), Ct);
        var steadyResult = await steadyTally;

        TestContext.WriteLine($"slow: {slowTally.Received} delivered + {slowTally.Missed} reported missed; steady: {steadyResult.Received} + {steadyResult.Missed}; transmitter counted {transmitter.Stats.DeliveriesDropped} drops");
        Assert.IsGreaterThan(0L, slowTally.Missed);
        Assert.AreEqual(transmitter.Stats.DeliveriesDropped, slowTally.Missed + steadyResult.Missed, "every drop the transmitter counted was reported to its cell");
    }

    /// <summary>
    /// A cell that stops reading for a moment but comes back within the grace loses nothing: the transmitter keeps what
    /// its full queue cannot take in the cell's backlog instead of dropping it (§8.2).
    /// </summary>
    [TestMethod]
    [Timeout(60_000)]
    public async Task CellThatCatchesUpWithinTheGrace_LosesNothing()
    {
        const int events = 1000;
        // A grace far above how long this test takes to notice the hold, even on a busy machine.
        // A backlog that holds the whole flood: this publisher does not use credit, so nothing paces it (§8.4).
        await using var transmitter = Transmitters.StartLoopback(o => o with { CellQueueFrames = 2, FullQueueGrace = TimeSpan.FromSeconds(1), MaxCellBacklogBytes = 64 * 1024 * 1024 });
        var channel = TestIds.Next("held");
        using var paused = RawClient.Subscribed(transmitter.CommandEndpoint, "paused", channel, receiveQueue: 2);
        using var publisher = RawClient.Welcomed(transmitter.CommandEndpoint, "pub");

        // 16 KiB bodies: 16 MB in all, more than the sockets between the two can buffer.
        var flood = Flood(publisher, channel, events, bodyBytes: 16 * 1024);

        await Eventually.That("the paused cell's full queue starts a backlog", () => transmitter.Stats.Backlogs > 0, TimeSpan.FromSeconds(20), Ct);
        var tally = new Tally();
        await Eventually.That("the paused cell accounts for every event", () => tally.Drain(paused) == events, TimeSpan.FromSeconds(30), Ct);
        await flood;
        publisher.Expect("ACPT", "the last event's confirmation");

        var stats = transmitter.Stats;
        TestContext.WriteLine($"{stats.Backlogs} backlog(s), {stats.DeliveriesDropped} dropped, {tally.Missed} told missed");
        Assert.AreEqual(events, tally.Received, "every event was delivered");
        Assert.AreEqual(0L, stats.DeliveriesDropped, "nothing was dropped");
    }

    /// <summary>
    /// A cell that takes nothing within the grace is slow: its backlog is dropped and counted and it is told, while a
    /// steady cell on the same channel gets every event without waiting for it.
    /// </summary>
    [TestMethod]
    [Timeout(60_000)]
    public async Task CellThatTakesNothingWithinTheGrace_IsDroppedWhileOthersGetEverything()
    {
        const int events = 400;
        // A grace well above a stall of the steady cell's threads on a busy machine: only the stuck cell misses it.
        await using var transmitter = Transmitters.StartLoopback(o => o with { CellQueueFrames = 2, FullQueueGrace = TimeSpan.FromMilliseconds(500) });
        var channel = TestIds.Next("stuck");
        using var stuck = RawClient.Subscribed(transmitter.CommandEndpoint, "stuck", channel, receiveQueue: 2);
        using var steady = RawClient.Subscribed(transmitter.CommandEndpoint, "steady", channel);
        using var publisher = RawClient.Welcomed(transmitter.CommandEndpoint, "pub");

        var flood = Flood(publisher, channel, events, bodyBytes: 16 * 1024);

        var steadyTally = new Tally();
        await Eventually.That("the steady cell gets every event while the stuck one reads nothing", () => steadyTally.Drain(steady) == events, TimeSpan.FromSeconds(30), Ct);
        await flood;
        publisher.Expect("ACPT", "the last event's confirmation");
        Assert.AreEqual(events, steadyTally.Received, "the steady cell lost nothing");
        Assert.IsGreaterThan(0L, transmitter.Stats.Backlogs, "the stuck cell's full queue started a backlog first");
        await Eventually.That("the stuck cell is judged slow", () => transmitter.Stats.SlowVerdicts > 0, cancellationToken: Ct);
        Assert.IsGreaterThan(0L, transmitter.Stats.DeliveriesDropped, "then its deliveries were dropped");

        var stuckTally = new Tally();
        await Eventually.That("the stuck cell, reading at last, accounts for every event", () => stuckTally.Drain(stuck) == events, TimeSpan.FromSeconds(30), Ct);
        Assert.AreEqual(transmitter.Stats.DeliveriesDropped, stuckTally.Missed, "every drop was counted and told to the stuck cell");
    }

    /// <summary>
    /// Publishes events 1..<paramref name="events"/>, the last asking for a confirmation, from another thread: when TCP
    /// pushes back the publisher's sends block, and the test must go on reading meanwhile.
    /// </summary>
    private static Task Flood(RawClient publisher, string channel, int events, int bodyBytes) => Task.Run(() =>
    {
        var body = new byte[bodyBytes];
        for (var i = 1; i <= events; i++)
        {
            publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = i, ["confirm"] = i == events }, body);
        }
    });

    /// <summary>Deliveries received plus deliveries a cell was told it missed.</summary>
    private sealed class Tally
    {
        public long Received { get; private set; }

        public long Missed { get; private set; }

        public long Drain(RawClient client)
        {
            while (client.TryReceive(TimeSpan.FromMilliseconds(20), out var frames))
            {
                var header = Encoding.UTF8.GetString(frames[0]);
                if (header.StartsWith("J DLVR", StringComparison.Ordinal))
                {
                    Received++;
                }
                else if (header.StartsWith("J SLOW", StringComparison.Ordinal))
                {
                    Missed += JObject.Parse(header[7..]).Value<long>("missed");
                }
            }

            return Received + Missed;
        }
    }

    [TestMethod]
    [Timeout(15_000)]
    public void EventsWithoutSeq_AreNumberedAfterTheHighestSeqTheCellChose()
    {
        var transmitter = SharedTransmitter.Instance;
        var channel = TestIds.Next("numbering");
        using var receiver = RawClient.Subscribed(transmitter.CommandEndpoint, "rx", channel);
        using var sender = RawClient.Welcomed(transmitter.CommandEndpoint, "tx");

        sender.SendJson("EVNT", new JObject { ["channel"] = channel });
        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 41 });
        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["confirm"] = true });

        Assert.AreEqual(42, sender.Expect("ACPT").Payload.Value<int>("seq"), "the confirmation names the seq the transmitter gave");
        var sequences = Enumerable.Range(0, 3).Select(_ => receiver.Expect("DLVR").Payload.Value<int>("seq")).ToArray();
        CollectionAssert.AreEqual(new[] { 1, 41, 42 }, sequences);
    }
}
