namespace Thynapse.Cell.Tests;

/// <summary>Four cells in two services on a real transmitter: multicatch and anycatch as DESIGN-BRIEF §3 defines them.</summary>
[TestClass]
public sealed class RoutingTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task Multicatch_ReachesEverySubscribedCellExactlyOnce()
    {
        const int events = 200;
        await using var transmitter = Transmitters.StartLoopback();
        await using var grid = await Grid.StartAsync(transmitter, "orders.*", Catch.Multi, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, "shop", Ct);
        var deliveriesBefore = transmitter.Stats.Deliveries;

        for (var i = 0; i < events; i++)
        {
            publisher.Publish("orders.created", $"order {i}");
        }

        var last = await publisher.PublishAsync("orders.created", "last", cancellationToken: Ct);
        Assert.AreEqual(4, last.Receivers, "the last event reached all four cells");
        foreach (var (name, collector) in grid.Collectors)
        {
            await collector.WaitForAsync(events + 1, name, Ct);
        }

        Assert.AreEqual(4L * (events + 1), transmitter.Stats.Deliveries - deliveriesBefore, "the transmitter made exactly one delivery per cell per event");
        foreach (var (name, collector) in grid.Collectors)
        {
            var sequences = collector.Events.Select(e => e.Sequence).ToList();
            Assert.HasCount(events + 1, sequences, name);
            Assert.HasCount(events + 1, sequences.Distinct(), $"{name} got no duplicates");
            CollectionAssert.AreEqual(sequences.Order().ToList(), sequences, $"{name} got them in publishing order");
            Assert.IsTrue(collector.Events.All(e => e.Mode == Catch.Multi && e.Origin == publisher.Id));
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Anycatch_ReachesExactlyOneCellPerServiceAndEveryCellGetsAShare()
    {
        const int events = 1000;
        await using var transmitter = Transmitters.StartLoopback();
        await using var grid = await Grid.StartAsync(transmitter, "jobs.>", Catch.Any, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, "producer", Ct);
        var deliveriesBefore = transmitter.Stats.Deliveries;

        for (var i = 0; i < events; i++)
        {
            var result = await publisher.PublishAsync("jobs.render", $"job {i}", cancellationToken: Ct);
            Assert.AreEqual(2, result.Receivers, "one receiver per service");
        }

        foreach (var service in Grid.Services)
        {
            await Eventually.That($"{service} caught all {events} jobs",
                () => grid.Collectors.Where(c => c.Key.StartsWith(service, StringComparison.Ordinal)).Sum(c => c.Value.Count) >= events,
                cancellationToken: Ct);
        }

        Assert.AreEqual(2L * events, transmitter.Stats.Deliveries - deliveriesBefore, "exactly one delivery per service per event");
        foreach (var service in Grid.Services)
        {
            var cells = grid.Collectors.Where(c => c.Key.StartsWith(service, StringComparison.Ordinal)).ToList();
            var sequences = cells.SelectMany(c => c.Value.Events.Select(e => e.Sequence)).ToList();
            Assert.HasCount(events, sequences.Distinct(), $"every event reached {service} once");
            Assert.HasCount(events, sequences, $"and no event reached {service} twice");
            foreach (var (name, collector) in cells)
            {
                TestContext.WriteLine($"{name}: {collector.Count} of {events}");
                collector.AssertNoError(name);
                Assert.IsGreaterThanOrEqualTo(events / 2 - 1, collector.Count, $"{name} got its share (least in-flight, ties round-robin)");
            }
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Anycatch_UnderABurst_GoesOutInRunsOfAtMost256PerBurstAndEveryEventOnce()
    {
        const int events = 3000;
        const int runLength = 256; // AnycatchGroup.RunLength, PROTOCOL.md §4.2
        await using var transmitter = Transmitters.StartLoopback();
        var caught = new List<(ulong Sequence, int Cell)>();
        var cells = new List<Cell>();
        try
        {
            for (var n = 0; n < 4; n++)
            {
                var cell = await Cells.ConnectAsync(transmitter, "workers", Ct);
                cells.Add(cell);
                var index = n;
                (await cell.SubscribeAsync("work.*", Catch.Any, Ct)).Subscribe(e =>
                {
                    lock (caught)
                    {
                        caught.Add((e.Sequence, index));
                    }
                });
            }

            await using var publisher = await Cells.ConnectAsync(transmitter, "producer", Ct);
            for (var i = 0; i < events; i++)
            {
                publisher.Publish("work.item", "x"); // fire and forget: they reach the transmitter in bursts
            }

            await Eventually.That($"all {events} events are caught", () => { lock (caught) { return caught.Count >= events; } }, cancellationToken: Ct);
            var last = await publisher.PublishAsync("work.item", "last", cancellationToken: Ct); // accepted: the transmitter routed all before it
            Assert.AreEqual(1, last.Receivers);
            await Eventually.That("the marker is caught too", () => { lock (caught) { return caught.Count >= events + 1; } }, cancellationToken: Ct);
            List<(ulong Sequence, int Cell)> inOrder;
            lock (caught)
            {
                inOrder = [.. caught.Where(c => c.Sequence != last.Sequence).OrderBy(c => c.Sequence)];
            }

            Assert.HasCount(events, inOrder.Select(c => c.Sequence).Distinct(), "every event reached the service");
            Assert.HasCount(events, inOrder, "and none twice");

            var longest = 0;
            for (int i = 0, run = 0; i < inOrder.Count; i++)
            {
                run = i > 0 && inOrder[i].Cell == inOrder[i - 1].Cell ? run + 1 : 1;
                longest = Math.Max(longest, run);
            }

            var shares = Enumerable.Range(0, 4).Select(n => inOrder.Count(c => c.Cell == n)).ToList();
            TestContext.WriteLine($"longest run {longest}; shares {string.Join(", ", shares)}");
            // A run lasts one burst at most; a cell may end one burst's runs and start the next burst's (it had the fewest).
            Assert.IsLessThanOrEqualTo(2 * runLength, longest, "one cell gets at most a run of consecutive events per burst");
            Assert.IsTrue(shares.All(s => s > 0), $"every cell got a share: {string.Join(", ", shares)}");
        }
        finally
        {
            await DisposeAllAsync(cells);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Anycatch_SharesEvenlyAcrossManyChannelsAndSubscriptionChurn()
    {
        const int events = 300;
        await using var transmitter = Transmitters.StartLoopback();
        var counts = new int[3];
        var cells = new List<Cell>();
        try
        {
            for (var n = 0; n < 3; n++)
            {
                var cell = await Cells.ConnectAsync(transmitter, "sharers", Ct);
                cells.Add(cell);
                var index = n;
                (await cell.SubscribeAsync("orders.*", Catch.Any, Ct)).Subscribe(_ => Interlocked.Increment(ref counts[index]));
            }

            await using var publisher = await Cells.ConnectAsync(transmitter, "publisher", Ct);
            await using var churner = await Cells.ConnectAsync(transmitter, "churner", Ct);
            for (var i = 0; i < events; i++)
            {
                // A channel per event (one route plan each), and a subscription change every tenth event (plans rebuilt).
                await publisher.PublishAsync($"orders.{i}", "x", cancellationToken: Ct);
                if (i % 10 == 0)
                {
                    await (await churner.SubscribeAsync($"noise.{i}", Catch.Multi, Ct)).DisposeAsync();
                }
            }

            await Eventually.That($"all {events} events are caught", () => counts.Sum() == events, cancellationToken: Ct);
            TestContext.WriteLine($"shares: {string.Join(", ", counts)}");
            foreach (var count in counts)
            {
                Assert.IsTrue(Math.Abs(count - (events / 3)) <= 1, $"each cell gets a third (±1), got {string.Join(", ", counts)}");
            }
        }
        finally
        {
            await DisposeAllAsync(cells);
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task MultiAndAny_OnOneChannelBothApply()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var audit = await Cells.ConnectAsync(transmitter, "audit", Ct);
        await using var worker = await Cells.ConnectAsync(transmitter, "worker", Ct);
        var everything = new EventCollector();
        var work = new EventCollector();
        await using var tap = await audit.SubscribeAsync("tasks.>", Catch.Multi, Ct);
        await using var job = await worker.SubscribeAsync("tasks.*", Catch.Any, Ct);
        using var a = tap.Subscribe(everything);
        using var b = job.Subscribe(work);

        var result = await audit.PublishAsync("tasks.new", "t", cancellationToken: Ct);

        Assert.AreEqual(2, result.Receivers);
        await everything.WaitForAsync(1, "the multicatch tap", Ct);
        await work.WaitForAsync(1, "the anycatch worker", Ct);
        Assert.AreEqual(Catch.Multi, everything.Events[0].Mode);
        Assert.AreEqual(Catch.Any, work.Events[0].Mode);
        Assert.AreEqual(1, work.Events[0].Attempt);
        Assert.AreEqual(result.Id, work.Events[0].Id, "the event's THID is the one the publisher was given");
        Assert.AreEqual(result.Id, everything.Events[0].Id);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PublishAsync_WithNoSubscriberSaysNoReceiver()
    {
        var transmitter = SharedTransmitter.Instance;
        await using var cell = await Cells.ConnectAsync(transmitter, "lonely", Ct);

        var result = await cell.PublishAsync(TestIds.Next("nobody"), "hello?", cancellationToken: Ct);

        Assert.AreEqual(PublishStatus.NoReceiver, result.Status);
        Assert.AreEqual(0, result.Receivers);
    }

    /// <summary>Disposes every cell, even when one of them throws (then throws what they threw).</summary>
    private static async Task DisposeAllAsync(List<Cell> cells)
    {
        List<Exception>? errors = null;
        foreach (var cell in cells)
        {
            try
            {
                await cell.DisposeAsync();
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex);
            }
        }

        if (errors is not null)
        {
            throw new AggregateException("Disposing the test's cells failed.", errors);
        }
    }

    /// <summary>Two services, two cells each, all subscribed to one pattern in one mode.</summary>
    private sealed class Grid : IAsyncDisposable
    {
        public static readonly string[] Services = ["billing", "audit"];
        private readonly List<IAsyncDisposable> _owned = [];

        public Dictionary<string, Catcher> Collectors { get; } = [];

        public static async Task<Grid> StartAsync(Thynapse.Transmitter.Transmitter transmitter, string pattern, Catch mode, CancellationToken ct)
        {
            var grid = new Grid();
            try
            {
                foreach (var service in Services)
                {
                    for (var n = 1; n <= 2; n++)
                    {
                        var cell = await Cells.ConnectAsync(transmitter, service, ct);
                        grid._owned.Add(cell);
                        var caught = await Catcher.SubscribeAsync(cell, pattern, mode, ct);
                        grid._owned.Add(caught);
                        grid.Collectors[$"{service}-{n}"] = caught;
                    }
                }
            }
            catch
            {
                await grid.DisposeAsync(); // a half-started grid leaves no cell behind
                throw;
            }

            return grid;
        }

        public async ValueTask DisposeAsync()
        {
            // Last in, first out: each subscription before its cell.
            for (var i = _owned.Count - 1; i >= 0; i--)
            {
                await _owned[i].DisposeAsync();
            }
        }
    }
}
