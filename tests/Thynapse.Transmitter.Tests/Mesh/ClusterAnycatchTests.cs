using System.Collections.Concurrent;
using System.Globalization;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// Cluster anycatch and targeted events between in-process transmitters on loopback, with real cells (PROTOCOL.md
/// §12.11): the ingress picks one cell per service from its replica, across every transmitter, and forwards the event to
/// that cell's transmitter, which delivers it to exactly that cell; for acknowledged anycatch the ingress owns the
/// pending entry and the holder relays the cell's answers back.
/// </summary>
[TestClass]
public sealed class ClusterAnycatchTests : TestBase
{
    [TestMethod]
    [Timeout(120_000)]
    public async Task TenThousandEvents_OverEqualCellsOnThreeTransmitters_EachHandledOncePerService_Balanced()
    {
        const int events = 10_000;
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("spread") + ".job";
        var workers = TestIds.Next("workers");
        var auditors = TestIds.Next("auditors");
        await using var pool = new CellPool();
        var worker = await pool.CatchAsync(mesh.All, workers, channel, Ct);
        var auditor = await pool.CatchAsync([mesh.B, mesh.C], auditors, channel, Ct);
        await mesh.AnycatchReachedAsync(channel, 5, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);

        for (var i = 0; i < events - 1; i++)
        {
            publisher.Publish(channel, i.ToString(CultureInfo.InvariantCulture));
        }

        var last = await publisher.PublishAsync(channel, (events - 1).ToString(CultureInfo.InvariantCulture), cancellationToken: Ct);
        Assert.AreEqual(2, last.Receivers, "one cell per service, whichever transmitter serves it");
        foreach (var (service, collectors) in new[] { (workers, worker), (auditors, auditor) })
        {
            await Eventually.That($"{service} got every event", () => collectors.Sum(c => c.Count) >= events, TimeSpan.FromSeconds(60), Ct);
            var bodies = collectors.SelectMany(c => c.Events.Select(e => e.BodyAsString())).ToList();
            Assert.HasCount(events, bodies, $"{service}: no event twice");
            Assert.HasCount(events, bodies.Distinct(), $"{service}: each event once");
            var counts = collectors.Select(c => c.Count).ToList();
            var ratio = (double)counts.Max() / counts.Min();
            TestContext.WriteLine($"{service}: {string.Join(" / ", counts)} per cell, busiest ÷ idlest = {ratio:0.000}");
            Assert.IsLessThanOrEqualTo(1.2, ratio, $"{service}: busiest ÷ idlest");
        }

        Assert.AreEqual(0L, mesh.A.Stats.MeshAnycatchLost, "nothing lost");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task AcknowledgedEvents_OverWorkersOnThreeTransmitters_AreBalancedByTheCellsLoads_AndComplete()
    {
        // Equal cells whose work takes time (a timer wait of about a millisecond an event, one at a time), as workers' work
        // does: each then holds more than the extra hop's round trip worth of work, and the cells' loads spread the events
        // evenly. With CPU-bound handlers on this 2-core box, what decides is the CPU each cell gets (measured 2896 / 3392 /
        // 3712).
        var counts = await HandleAcknowledgedOnThreeAsync(TimeSpan.FromMilliseconds(1));
        var ratio = (double)counts.Max() / Math.Max(1, counts.Min());
        Assert.IsLessThanOrEqualTo(1.2, ratio, "busiest ÷ idlest");
    }

    [TestMethod]
    [Timeout(120_000)]
    [DoNotParallelize] // a share decided by how soon answers come back: a test class running beside it on the 2 cores skewed it to 2.2x in one CI run
    public async Task AcknowledgedEvents_WhoseHandlersTakeNoTime_AreNotDrawnToTheIngresssOwnCell()
    {
        // With handlers that take no time all 10,000 queue at the ingress, and each cell gets work as fast as its room
        // frees. A remote cell's room is judged by its holder's load report plus what was sent since (PROTOCOL.md
        // §12.11), bounded at twice the prefetch by what the report had not seen: the ingress's own cell handled
        // 0.93–1.42× the remote cells' mean over 9 runs (mostly 1.03–1.21). Room counted in the bound alone (answers on
        // their way back held until they arrive): 1.7–2.3×; with the deliveries on their way counted in the choice as
        // well: 1.9–2.1×. The bound between the two.
        var counts = await HandleAcknowledgedOnThreeAsync(TimeSpan.Zero);
        var ownShare = counts[0] / ((counts[1] + counts[2]) / 2.0);
        TestContext.WriteLine($"the ingress's own cell handled {ownShare:0.00}× the remote cells' mean");
        Assert.IsLessThanOrEqualTo(1.6, ownShare, $"the ingress's own cell ÷ the remote cells' mean ({string.Join(" / ", counts)})");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task TheIngresssRefutations_WhileItsDeliveriesAndTheirAcksFlow_LoseNeither()
    {
        // A refutation raises the ingress's incarnation while its FWRDs and the holders' answers are on their way (under
        // load a transmitter is suspected and refutes; a CI run saw an event handled twice). A holder starts a new stream
        // to the ingress when it hears the new incarnation, mid-burst, and dropped the answers written to the old one:
        // each cost a redelivery at the 30 s ack timeout. The holders keep their links to the ingress (its record says
        // the same run); when they relinked, as for a restart, what was on the old link was lost and had to be resent.
        const int refutations = 16;
        await HandleAcknowledgedOnThreeAsync(TimeSpan.Zero, async (mesh, handled) =>
        {
            for (var i = 1; i <= refutations; i++)
            {
                var after = i * 600;
                await Eventually.That($"{after} events handled", () => handled.Count >= after, TimeSpan.FromSeconds(60), Ct);
                await LoopbackMesh.AccuseAsync(mesh.A, by: mesh.B);
            }

            Assert.AreEqual(refutations, mesh.A.Stats.MeshRefutations, "the ingress refuted each accusation");
            await Eventually.That("every event handled", () => handled.Count >= 10_000, TimeSpan.FromSeconds(60), Ct);
            Assert.AreEqual(0L, mesh.A.Stats.MeshForwardsResent + mesh.B.Stats.MeshForwardsResent + mesh.C.Stats.MeshForwardsResent,
                "the holders kept their links to the ingress through its refutations (same run): nothing on them to resend");
        });
    }

    /// <summary>
    /// 10,000 acknowledged events from a publisher at the first of three transmitters, over one equal cell at each, every
    /// handler taking <paramref name="work"/>: asserts each completed and was handled once, with each remote ack relayed
    /// once and none timed out, and returns how many each cell handled (the ingress's own first). <paramref name="meanwhile"/>
    /// runs while the events are handled, with the events handled so far.
    /// </summary>
    private async Task<int[]> HandleAcknowledgedOnThreeAsync(TimeSpan work, Func<LoopbackMesh, ConcurrentDictionary<string, int>, Task>? meanwhile = null)
    {
        const int events = 10_000;
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("acked") + ".job";
        var service = TestIds.Next("workers");
        var handled = new ConcurrentDictionary<string, int>();
        var byCell = new ConcurrentDictionary<int, int>();
        await using var pool = new CellPool();
        for (var i = 0; i < 3; i++)
        {
            var index = i;
            await pool.HandleAwaitingAsync(mesh.All[i], service, channel, async e =>
            {
                handled.AddOrUpdate(e.BodyAsString(), 1, (_, n) => n + 1);
                byCell.AddOrUpdate(index, 1, (_, n) => n + 1);
                if (work > TimeSpan.Zero)
                {
                    await Task.Delay(work, Ct);
                }
            }, Ct);
        }

        await mesh.AnycatchReachedAsync(channel, 3, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);
        var completions = new List<Task<PublishResult>>();
        for (var i = 0; i < events; i++)
        {
            completions.Add(publisher.PublishAsync(channel, i.ToString(CultureInfo.InvariantCulture), new PublishOptions { Await = PublishAwait.Completion }, Ct));
        }

        if (meanwhile is not null)
        {
            await meanwhile(mesh, handled);
        }

        var results = await Task.WhenAll(completions).Within("every completion", TimeSpan.FromSeconds(90));
        Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed), "every event completed (DONE after the relayed ack)");
        Assert.HasCount(events, handled.Keys, "every event handled");
        var counts = Enumerable.Range(0, 3).Select(i => byCell.GetValueOrDefault(i)).ToArray();
        string Stats(Transmitter t) => $"redeliveries {t.Stats.Redeliveries}, ack timeouts {t.Stats.AckTimeouts}, nacks {t.Stats.Nacks}, forwards resent {t.Stats.MeshForwardsResent}, lost {t.Stats.MeshForwardsLost}, gone {t.Stats.MeshForwardsGone}, missed {t.Stats.MeshDeliveriesMissed}, relayed {t.Stats.MeshOutcomesRelayed}, gaps lost {t.Stats.MeshMessagesLost}, suspicions {t.Stats.PeersSuspect}, refutations {t.Stats.MeshRefutations}";
        Assert.IsTrue(handled.Values.All(n => n == 1),
            $"none twice: {handled.Count(h => h.Value > 1)} twice ({string.Join(", ", handled.Where(h => h.Value > 1).Select(h => h.Key).Take(10))}); per cell {string.Join(" / ", counts)}; a: {Stats(mesh.A)}; b: {Stats(mesh.B)}; c: {Stats(mesh.C)}");
        TestContext.WriteLine($"acknowledged: {string.Join(" / ", counts)} per cell (a, b, c), busiest ÷ idlest = {(double)counts.Max() / Math.Max(1, counts.Min()):0.000}; relayed by b {mesh.B.Stats.MeshOutcomesRelayed}, c {mesh.C.Stats.MeshOutcomesRelayed}");
        Assert.AreEqual((long)events, mesh.A.Stats.Acks, "the ingress counts every ack, relayed or its own");
        Assert.AreEqual(0L, mesh.A.Stats.AckTimeouts, $"no delivery or ack lost on its way: a: {Stats(mesh.A)}; b: {Stats(mesh.B)}; c: {Stats(mesh.C)}");
        Assert.AreEqual((long)(counts[1] + counts[2]), mesh.B.Stats.MeshOutcomesRelayed + mesh.C.Stats.MeshOutcomesRelayed, "each remote ack relayed once");
        await Eventually.That("nothing left in flight at the ingress", () => mesh.A.Stats.InFlight == 0, cancellationToken: Ct);
        Assert.IsGreaterThan(0L, mesh.B.Stats.MeshLoadReports + mesh.C.Stats.MeshLoadReports, "the holders reported their cells' loads");
        return counts;
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ACellBusyWithAnotherIngresssWork_IsToldByGossip_AndGetsNoneOfThisIngresssUntilTheOthersCatchUp()
    {
        const int held = 20;
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("gossip") + ".job";
        var service = TestIds.Next("workers");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new ConcurrentDictionary<string, int>();
        var options = new HandlerOptions { MaxConcurrency = 64, Prefetch = 64, AckTimeout = TimeSpan.FromSeconds(30) };
        await using var pool = new CellPool();
        foreach (var (on, name) in new[] { (mesh.B, "x"), (mesh.C, "y") })
        {
            await pool.HandleAwaitingAsync(on, service, channel, async e =>
            {
                started.AddOrUpdate(name, 1, (_, n) => n + 1);
                await gate.Task.WaitAsync(Ct);
            }, Ct, new JObject { ["name"] = name }, options);
        }

        await mesh.AnycatchReachedAsync(channel, 2, Ct);
        await using var atB = await Cells.ConnectAsync(mesh.B, "publisher", Ct);
        await using var atA = await Cells.ConnectAsync(mesh.A, "publisher", Ct);
        var completions = new List<Task<PublishResult>>();
        var awaitCompletion = new PublishOptions { Await = PublishAwait.Completion };
        for (var i = 0; i < held; i++)
        {
            completions.Add(atB.PublishAsync(channel, $"b{i}", awaitCompletion with { Target = new JObject { ["name"] = "x" } }, Ct));
        }

        await Eventually.That($"x holds b's {held}", () => started.GetValueOrDefault("x") == held, cancellationToken: Ct);
        await Eventually.That("a knows x's load from b's gossip", async () => await LoadAtAsync(mesh.A, channel, "x") == held, cancellationToken: Ct);

        for (var i = 0; i < held; i++)
        {
            completions.Add(atA.PublishAsync(channel, $"a{i}", awaitCompletion, Ct));
        }

        await Eventually.That($"a's {held} started", () => started.Values.Sum() == 2 * held, cancellationToken: Ct);
        TestContext.WriteLine($"started: x {started.GetValueOrDefault("x")}, y {started.GetValueOrDefault("y")}; load reports b {mesh.B.Stats.MeshLoadReports}, c {mesh.C.Stats.MeshLoadReports}");
        Assert.AreEqual(held, started.GetValueOrDefault("y"), "a sent all of its events to the idle cell (its own counts alone would split them 10 / 10)");
        Assert.AreEqual(held, started.GetValueOrDefault("x"), "and none to the busy one");

        gate.SetResult();
        var results = await Task.WhenAll(completions).Within("every completion", TimeSpan.FromSeconds(30));
        Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed), "every event completed");

        static Task<int> LoadAtAsync(Transmitter at, string channel, string name) => at.InvokeAsync(p =>
            p.Routes.Find(System.Text.Encoding.ASCII.GetBytes(channel), out _)!.Anycatch.SelectMany(g => g.Candidates)
                .Single(c => (string?)c.Receiver.Metadata["name"] == name).Load);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ANackAtOneHost_IsRedeliveredToACellOnAnotherHost()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("nack") + ".job";
        var service = TestIds.Next("workers");
        var calls = new ConcurrentQueue<(string Host, int Attempt)>();
        await using var pool = new CellPool();
        await pool.HandleAsync(mesh.B, service, channel, e =>
        {
            calls.Enqueue(("b", e.Attempt));
            throw new InvalidOperationException("b cannot do this");
        }, Ct);
        await pool.HandleAsync(mesh.C, service, channel, e => calls.Enqueue(("c", e.Attempt)), Ct);
        await mesh.AnycatchReachedAsync(channel, 2, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);

        for (var i = 0; i < 10; i++)
        {
            var result = await publisher.PublishAsync(channel, $"{i}", new PublishOptions { Await = PublishAwait.Completion }, Ct);
            Assert.AreEqual(PublishStatus.Completed, result.Status);
        }

        var byB = calls.Where(c => c.Host == "b").ToList();
        var byC = calls.Where(c => c.Host == "c").ToList();
        Assert.IsNotEmpty(byB, "b got its share of first attempts");
        Assert.IsTrue(byB.All(c => c.Attempt == 1), "b never got a redelivery: the next attempt avoids the cell that failed");
        Assert.HasCount(10, byC, "c handled every event in the end");
        Assert.HasCount(byB.Count, byC.Where(c => c.Attempt == 2), "each event b refused came to c as attempt 2");
        Assert.AreEqual((long)byB.Count, mesh.A.Stats.Nacks, "the ingress took each relayed nack");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AnAckTimeoutAtOneHost_IsRedeliveredToAnother_AndAPoisonEventIsDeadLetteredAcrossHosts()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("timeout") + ".job";
        var service = TestIds.Next("workers");
        await using var pool = new CellPool();
        await using var sleepy = await Cells.ConnectAsync(mesh.B, service, Ct);
        var held = new EventCollector();
        var sits = await sleepy.SubscribeAsync(channel, Catch.Any, new SubscriptionOptions { Acknowledge = true, AckTimeout = TimeSpan.FromMilliseconds(300), MaxAttempts = 3 }, Ct);
        sits.Subscribe(held); // receives, never acknowledges
        var done = new ConcurrentQueue<Event>();
        await pool.HandleAsync(mesh.C, service, channel, e =>
        {
            if (e.BodyAsString() == "poison")
            {
                throw new FormatException("cannot parse");
            }

            done.Enqueue(e);
        }, Ct);
        var deadLetters = await pool.CatchAsync([mesh.B], "auditor", $"$DLQ.{service}", Ct, Catch.Multi);
        await mesh.AnycatchReachedAsync(channel, 2, Ct);
        await mesh.InterestReachedAsync($"$DLQ.{service}", 1, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);
        var completion = new PublishOptions { Await = PublishAwait.Completion };

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => publisher.PublishAsync(channel, $"{i}", completion, Ct)));
        await Assert.ThrowsExactlyAsync<ThynapseDeadLetteredException>(() => publisher.PublishAsync(channel, "poison", completion, Ct));

        Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed));
        Assert.IsGreaterThan(0, held.Count, "the sleepy cell on b got some first attempts");
        Assert.HasCount(10, done, "c handled every event in the end");
        Assert.IsGreaterThanOrEqualTo((long)held.Count - 1, mesh.A.Stats.AckTimeouts, "the ingress timed out what b's cell sat on");
        await deadLetters[0].WaitForAsync(1, "the dead-letter catcher on b", Ct);
        Assert.AreEqual("poison", deadLetters[0].Events[0].BodyAsString());
        Assert.AreEqual(service, deadLetters[0].Events[0].DeadLetter!.Service);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ACellThatLeavesWhileHoldingEvents_HasThemRedeliveredToACellOnAnotherHost()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("holder") + ".job";
        var service = TestIds.Next("workers");
        var onC = new ConcurrentQueue<string>();
        await using var pool = new CellPool();
        await using var sitter = await Cells.ConnectAsync(mesh.B, service, Ct);
        var held = new EventCollector();
        var sits = await sitter.SubscribeAsync(channel, Catch.Any, new SubscriptionOptions { Acknowledge = true }, Ct);
        sits.Subscribe(held); // receives, never acknowledges (the ack timeout is 30 s)
        await mesh.AnycatchReachedAsync(channel, 1, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);
        var completions = Enumerable.Range(0, 5).Select(i => publisher.PublishAsync(channel, $"{i}", new PublishOptions { Await = PublishAwait.Completion }, Ct)).ToList();
        await held.WaitForAsync(5, "the cell on b", Ct);
        await pool.HandleAsync(mesh.C, service, channel, e => onC.Enqueue(e.BodyAsString()), Ct);
        await mesh.AnycatchReachedAsync(channel, 2, Ct);

        await sitter.DisposeAsync(); // b tells a its deliveries there were not handled (Gone), and a redelivers them

        var results = await Task.WhenAll(completions).Within("every completion", TimeSpan.FromSeconds(20));
        Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed));
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 5).Select(i => $"{i}").ToList(), onC.ToList(), "c handled each of them, well before their ack timeout");
        Assert.AreEqual(5L, mesh.A.Stats.Redeliveries);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AKeyedEvent_LandsOnTheSameCell_FromEveryIngress()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("sticky") + ".job";
        var service = TestIds.Next("workers");
        await using var pool = new CellPool();
        var collectors = await pool.CatchAsync([mesh.A, mesh.B, mesh.C, mesh.C], service, channel, Ct);
        await mesh.AnycatchReachedAsync(channel, 4, Ct);
        var publishers = new List<Cell.Cell>();
        foreach (var t in mesh.All)
        {
            publishers.Add(await Cells.ConnectAsync(t, "publisher", Ct));
        }

        const int keys = 40;
        foreach (var p in publishers)
        {
            for (var k = 0; k < keys; k++)
            {
                await p.PublishAsync(channel, $"k{k}", new PublishOptions { Key = $"k{k}" }, Ct);
            }
        }

        await Eventually.That("every keyed event arrived", () => collectors.Sum(c => c.Count) == keys * 3, cancellationToken: Ct);
        var cellsPerKey = Enumerable.Range(0, keys).Select(k => collectors.Count(c => c.Events.Any(e => e.BodyAsString() == $"k{k}"))).ToList();
        Assert.IsTrue(cellsPerKey.All(n => n == 1), "each key went to one cell, from whichever transmitter it was published at");
        Assert.IsGreaterThan(1, collectors.Count(c => c.Count > 0), "keys spread over several cells");
        foreach (var p in publishers)
        {
            await p.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task TargetedEventsAndSelectors_ReachCellsOnOtherTransmitters()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("target") + ".news";
        var service = TestIds.Next("zones");
        await using var pool = new CellPool();
        var multi = await pool.CatchAsync([mesh.A, mesh.B, mesh.C], service, channel, Ct, Catch.Multi, i => new JObject { ["zone"] = $"z{i}", ["load"] = 3 - i });
        var any = await pool.CatchAsync([mesh.A, mesh.B, mesh.C], service + "-any", channel, Ct, Catch.Any, i => new JObject { ["zone"] = $"z{i}", ["load"] = 3 - i });
        await mesh.AnycatchReachedAsync(channel, 3, Ct);
        await mesh.InterestReachedAsync(channel, 2, Ct);
        await Eventually.That("a holds the remote cells' metadata", async () => await mesh.A.InvokeAsync(p =>
            p.Routes.Find(System.Text.Encoding.ASCII.GetBytes(channel), out _)!.RemoteMulticatch.All(r => r.Metadata["zone"] is not null)), cancellationToken: Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);

        var toC = await publisher.PublishAsync(channel, "for z2", new PublishOptions { Target = new JObject { ["zone"] = "z2" } }, Ct);
        var leastLoaded = await publisher.PublishAsync(channel, "least loaded", new PublishOptions { Target = new JObject { ["$min"] = "load" } }, Ct);

        Assert.AreEqual(2, toC.Receivers, "one multicatch and one anycatch cell on c, counted at a");
        Assert.AreEqual(2, leastLoaded.Receivers, "the least loaded cell of each service: c's");
        foreach (var collectors in new[] { multi, any })
        {
            await collectors[2].WaitForAsync(2, "the cells on c", Ct);
            Assert.AreEqual(0, collectors[0].Count + collectors[1].Count, "no cell of a or b got them");
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task NoReceiver_OnlyWhenNoCellOfAnyTransmitterCatchesIt()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("lonely") + ".job";
        var service = TestIds.Next("far");
        await using var pool = new CellPool();
        var far = await pool.CatchAsync([mesh.C], service, channel, Ct);
        await mesh.AnycatchReachedAsync(channel, 1, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);
        var strict = new PublishOptions { ThrowOnNoReceiver = true };

        var reached = await publisher.PublishAsync(channel, "x", strict, Ct);
        var byService = await publisher.PublishAsync(channel, "y", strict with { Service = service }, Ct);
        await Assert.ThrowsExactlyAsync<ThynapseNoReceiverException>(() => publisher.PublishAsync(channel + "x", "z", strict, Ct));
        await Assert.ThrowsExactlyAsync<ThynapseNoReceiverException>(() => publisher.PublishAsync(channel, "w", strict with { Service = "nobody" }, Ct));

        Assert.AreEqual(1, reached.Receivers, "the anycatch cell on c");
        Assert.AreEqual(1, byService.Receivers, "its service, on c");
        await far[0].WaitForAsync(2, "the cell on c", Ct);
    }

    /// <summary>Cells connected for a test, each with one subscription, disposed together.</summary>
    private sealed class CellPool : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _owned = [];

        /// <summary>A cell of <paramref name="service"/> on each transmitter given, catching <paramref name="channel"/>; one collector each.</summary>
        public async Task<List<EventCollector>> CatchAsync(Transmitter[] on, string service, string channel, CancellationToken ct, Catch mode = Catch.Any,
            Func<int, JObject>? metadata = null)
        {
            var collectors = new List<EventCollector>();
            for (var i = 0; i < on.Length; i++)
            {
                var index = i;
                var cell = await Cells.ConnectAsync(on[i], service, o => o with { Metadata = metadata?.Invoke(index) }, ct);
                var subscription = await cell.SubscribeAsync(channel, mode, ct);
                var collector = new EventCollector();
                subscription.Subscribe(collector);
                _owned.Add(cell);
                _owned.Insert(0, subscription);
                collectors.Add(collector);
            }

            return collectors;
        }

        /// <summary>An acknowledging handler cell of <paramref name="service"/> on <paramref name="on"/>.</summary>
        public Task HandleAsync(Transmitter on, string service, string channel, Action<Event> handle, CancellationToken ct) =>
            HandleAwaitingAsync(on, service, channel, e =>
            {
                handle(e);
                return Task.CompletedTask;
            }, ct);

        public async Task HandleAwaitingAsync(Transmitter on, string service, string channel, Func<Event, Task> handle, CancellationToken ct,
            JObject? metadata = null, HandlerOptions? options = null)
        {
            var cell = await Cells.ConnectAsync(on, service, o => o with { Metadata = metadata }, ct);
            _owned.Add(cell);
            _owned.Insert(0, await cell.HandleAsync(channel, (e, _) => handle(e), options, ct));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var owned in _owned)
            {
                await owned.DisposeAsync();
            }
        }
    }
}
