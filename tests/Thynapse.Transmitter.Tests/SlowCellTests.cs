using System.Text;
using Newtonsoft.Json.Linq;
using Thynapse.TestKit;

namespace Thynapse.Transmitter.Tests;

/// <summary>A cell that does not read: its deliveries are dropped, counted and reported to it (PROTOCOL.md §8.2).</summary>
[TestClass]
public sealed class SlowCellTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task SlowCell_IsToldExactlyHowManyDeliveriesItMissed()
    {
        const int events = 20_000;
        var ct = TestContext.CancellationToken;
        await using var transmitter = Transmitters.StartLoopback(o => o with { CellQueueFrames = 10 });
        var channel = TestIds.Next("flood");
        using var slow = new RawClient(transmitter.CommandEndpoint);
        slow.Hello(TestIds.Next("slow"));
        slow.Subscribe(1, channel);
        using var steady = new RawClient(transmitter.CommandEndpoint);
        steady.Hello(TestIds.Next("steady"));
        steady.Subscribe(1, channel);
        using var publisher = new RawClient(transmitter.CommandEndpoint);
        publisher.Hello(TestIds.Next("pub"));

        // The steady cell reads all along; the slow one reads nothing while the burst is routed.
        var steadyTally = Task.Run(async () =>
        {
            var tally = new Tally();
            await Eventually.That("the steady cell accounts for every event", () => tally.Drain(steady) == events, TimeSpan.FromSeconds(45), ct);
            return tally;
        }, ct);
        for (var i = 1; i <= events; i++)
        {
            publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = i, ["confirm"] = i == events });
        }

        publisher.Expect("ACPT", "the last event's confirmation");
        Assert.IsGreaterThan(0L, transmitter.Stats.DeliveriesDropped, "the burst overflowed the slow cell's queue");

        var slowTally = new Tally();
        await Eventually.That("the slow cell accounts for every event", () => slowTally.Drain(slow) == events, TimeSpan.FromSeconds(45), ct);
        var steadyResult = await steadyTally;

        TestContext.WriteLine($"slow: {slowTally.Received} delivered + {slowTally.Missed} reported missed; steady: {steadyResult.Received} + {steadyResult.Missed}; transmitter counted {transmitter.Stats.DeliveriesDropped} drops");
        Assert.IsGreaterThan(0L, slowTally.Missed);
        Assert.AreEqual(transmitter.Stats.DeliveriesDropped, slowTally.Missed + steadyResult.Missed, "every drop the transmitter counted was reported to its cell");
    }

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
    [Timeout(15_000, CooperativeCancellation = true)]
    public async Task EventsWithoutSeq_AreNumberedAfterTheHighestSeqTheCellChose()
    {
        await using var transmitter = Transmitters.StartLoopback();
        var channel = TestIds.Next("numbering");
        using var receiver = new RawClient(transmitter.CommandEndpoint);
        receiver.Hello(TestIds.Next("rx"));
        receiver.Subscribe(1, channel);
        using var sender = new RawClient(transmitter.CommandEndpoint);
        sender.Hello(TestIds.Next("tx"));

        sender.SendJson("EVNT", new JObject { ["channel"] = channel });
        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 41 });
        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["confirm"] = true });

        Assert.AreEqual(42, sender.Expect("ACPT").Payload.Value<int>("seq"), "the confirmation names the seq the transmitter gave");
        var sequences = Enumerable.Range(0, 3).Select(_ => receiver.Expect("DLVR").Payload.Value<int>("seq")).ToArray();
        CollectionAssert.AreEqual(new[] { 1, 41, 42 }, sequences);
    }
}
