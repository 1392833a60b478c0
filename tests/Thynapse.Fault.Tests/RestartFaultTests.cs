namespace Thynapse.Fault.Tests;

/// <summary>
/// A transmitter process killed with SIGKILL and replaced on the same ports while cells work: what each delivery mode
/// promises must hold across it (issue 15, findings 1, 2, 4 and 6).
/// </summary>
[TestClass]
public sealed class RestartFaultTests : TestBase
{
    private static readonly string[] Quick = ["--heartbeat-ms", "250", "--liveness-ms", "1500"];

    /// <summary>
    /// Finding 1: 3,000 events published awaiting completion while the transmitter is killed and restarted. Every one
    /// completes; the acknowledging service handles each at least once; the multicatch catcher never gets one twice
    /// (the completion resends carry the resend flag and skip it); and every cell says it re-joined once. The publisher
    /// connects through a relay that lets it re-join only after the catchers have: its resends then find them
    /// subscribed, which is when they could be caught twice (otherwise the race of re-joins decides).
    /// </summary>
    [TestMethod]
    [Timeout(120_000)]
    public async Task KilledTransmitter_UnderCompletionAwaitedPublishing_MulticatchGetsNoDuplicateAndNothingConfirmedIsLost()
    {
        const int events = 3000;
        var first = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: Quick);
        try
        {
            var channel = TestIds.Next("orders") + ".created";
            await using var audit = await Cells.ConnectAsync(first.CommandEndpoint, TestIds.Next("audit"), o => o, Ct);
            var audited = new ConcurrentQueue<ulong>();
            await using var auditing = await audit.SubscribeAsync(channel, Catch.Multi, Ct);
            using var a = auditing.Subscribe(e => audited.Enqueue(e.Sequence));

            var billingService = TestIds.Next("billing");
            var handled = new ConcurrentQueue<ulong>();
            await using var billing1 = await Cells.ConnectAsync(first.CommandEndpoint, billingService, o => o, Ct);
            await using var billing2 = await Cells.ConnectAsync(first.CommandEndpoint, billingService, o => o, Ct);
            Task Bill(Event e, CancellationToken _)
            {
                handled.Enqueue(e.Sequence);
                return Task.CompletedTask;
            }

            await using var work1 = await billing1.HandleAsync(channel, Bill, cancellationToken: Ct);
            await using var work2 = await billing2.HandleAsync(channel, Bill, cancellationToken: Ct);
            await using var relay = new TcpRelay(first.CommandPort);
            // Through the relay only (not to the transmitter's own address its welcome lists), so that it re-joins after
            // the catchers: its resends then find them subscribed.
            await using var publisher = await Cells.ConnectAsync(relay.Endpoint, TestIds.Next("shop"), o => o with { UseListedTransmitters = false }, Ct);
            var reconnects = new ConcurrentDictionary<string, int>();
            var subscriptions = new List<IDisposable>();
            foreach (var (name, cell) in new[] { ("audit", audit), ("billing1", billing1), ("billing2", billing2), ("publisher", publisher) })
            {
                subscriptions.Add(cell.Notices.Subscribe(n =>
                {
                    if (n.Kind == CellNoticeKind.Reconnected)
                    {
                        reconnects.AddOrUpdate(name, 1, (_, count) => count + 1);
                    }
                }));
            }

            var completions = new List<Task<PublishResult>>(events);
            var firstTransmitter = publisher.TransmitterId;
            TransmitterProcess? second = null;
            try
            {
                for (var i = 0; i < events; i++)
                {
                    completions.Add(publisher.PublishAsync(channel, $"order {i}", new PublishOptions { Await = PublishAwait.Completion }, Ct));
                    if (i == events / 3)
                    {
                        await Eventually.That("some orders are billed", () => handled.Count >= 100, cancellationToken: Ct);
                        relay.Accepting = false;
                        await first.KillAsync(Ct);
                        second = await first.StartAgainAsync(Ct, Quick);
                        await Eventually.That("the catchers re-joined the new transmitter",
                            () => new[] { audit, billing1, billing2 }.All(c => c.CurrentState == CellState.Connected && c.TransmitterId != firstTransmitter), TimeSpan.FromSeconds(20), Ct);
                        relay.Accepting = true;
                    }
                }

                var results = await Task.WhenAll(completions).Within("every publish to complete", TimeSpan.FromSeconds(60));
                Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed),
                    $"every event completed: {string.Join(", ", results.GroupBy(r => r.Status).Select(g => $"{g.Key} {g.Count()}"))}");
                await Eventually.That("every cell re-joined the new transmitter",
                    () => new[] { audit, billing1, billing2, publisher }.All(c => c.CurrentState == CellState.Connected && c.TransmitterId != firstTransmitter), cancellationToken: Ct);

                // A sentinel on the same path: everything published before it has reached the audit cell once it arrives.
                var sentinel = await publisher.PublishAsync(channel, "sentinel", new PublishOptions { Await = PublishAwait.Completion }, Ct);
                await Eventually.That("the audit cell has the sentinel", () => audited.Contains(sentinel.Sequence), cancellationToken: Ct);

                var auditedAll = audited.Where(s => s != sentinel.Sequence).ToList();
                var handledAll = handled.Where(s => s != sentinel.Sequence).ToList();
                var published = results.Select(r => r.Sequence).ToHashSet();
                TestContext.WriteLine(
                    $"multicatch audit: handled {auditedAll.Count}, distinct {auditedAll.Distinct().Count()}, duplicated {auditedAll.Count - auditedAll.Distinct().Count()}, lost {published.Count - auditedAll.Distinct().Count()}");
                TestContext.WriteLine(
                    $"acknowledged anycatch billing: handled {handledAll.Count}, distinct {handledAll.Distinct().Count()}, duplicated {handledAll.Count - handledAll.Distinct().Count()}, lost {published.Except(handledAll).Count()}");
                TestContext.WriteLine($"Reconnected notices: {string.Join(", ", reconnects.Select(r => $"{r.Key} {r.Value}"))}");

                Assert.AreEqual(auditedAll.Count, auditedAll.Distinct().Count(), "multicatch got no event twice");
                Assert.IsTrue(auditedAll.All(published.Contains));
                Assert.AreEqual(0, published.Except(handledAll).Count(), "no completion-confirmed event was lost");
                foreach (var name in new[] { "audit", "billing1", "billing2", "publisher" })
                {
                    Assert.AreEqual(1, reconnects.GetValueOrDefault(name), $"{name} said once that it re-joined");
                }

                var noise = second!.Process.Lines.Where(l => l.Contains("ALREADY_WELCOMED", StringComparison.Ordinal)
                    || l.Contains("NOT_WELCOMED", StringComparison.Ordinal) || l.Contains("DUPLICATE_WATCH", StringComparison.Ordinal)).ToList();
                Assert.IsEmpty(noise, "the new transmitter warned about nothing in the normal steps of a re-join:\n" + string.Join('\n', noise));
            }
            finally
            {
                foreach (var subscription in subscriptions)
                {
                    subscription.Dispose();
                }

                second?.Dispose();
            }
        }
        finally
        {
            first.Dispose();
        }
    }

    /// <summary>
    /// Finding 2: fire-and-forget events published while the cell has no session (its transmitter was killed) wait for
    /// the re-join and go out after it: the new transmitter accepts every one and refuses none.
    /// </summary>
    [TestMethod]
    [Timeout(60_000)]
    public async Task FireAndForgetDuringAnOutage_GoesOutAfterTheRejoin()
    {
        const int events = 500;
        var first = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: Quick);
        try
        {
            await using var publisher = await Cells.ConnectAsync(first.CommandEndpoint, TestIds.Next("ticker"), o => o, Ct);
            var rejected = 0;
            using var notices = publisher.Notices.Subscribe(n =>
            {
                if (n.Kind == CellNoticeKind.PublishRejected)
                {
                    Interlocked.Increment(ref rejected);
                }
            });

            await first.KillAsync(Ct);
            await Eventually.That("the publisher sees the session lost", () => publisher.CurrentState == CellState.Reconnecting, TimeSpan.FromSeconds(5), Ct);
            var channel = TestIds.Next("ticks");
            for (var i = 0; i < events; i++)
            {
                publisher.Publish(channel, $"tick {i}");
            }

            // The replacement is in-process on the same port, so that what it received can be counted exactly.
            await using var second = Transmitters.StartLoopback(o => o with { CommandEndpoint = first.CommandEndpoint, HeartbeatInterval = TimeSpan.FromMilliseconds(250) });
            await Eventually.That("the publisher re-joins", () => publisher.CurrentState == CellState.Connected, TimeSpan.FromSeconds(15), Ct);
            var last = await publisher.PublishAsync(channel, "last", cancellationToken: Ct);

            TestContext.WriteLine($"the new transmitter received {second.Stats.EventsReceived} events, rejected {second.Stats.EventsRejected}; {rejected} rejection notices");
            Assert.AreEqual(events + 1L, second.Stats.EventsReceived, "every event published during the outage reached the new transmitter");
            Assert.AreEqual(0L, second.Stats.EventsRejected);
            Assert.AreEqual(0, Volatile.Read(ref rejected));
            Assert.AreEqual(PublishStatus.NoReceiver, last.Status);
        }
        finally
        {
            first.Dispose();
        }
    }

    /// <summary>
    /// Finding 4: a subscription asked for while the cell has no session waits for the re-join and is in force after it;
    /// one that cannot be in force within the request timeout fails saying why.
    /// </summary>
    [TestMethod]
    [Timeout(60_000)]
    public async Task SubscribeWhileReconnecting_WaitsForTheRejoinOrSaysWhyItTimedOut()
    {
        var first = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: Quick);
        try
        {
            await using var cell = await Cells.ConnectAsync(first.CommandEndpoint, TestIds.Next("late"), o => o with { RequestTimeout = TimeSpan.FromSeconds(20) }, Ct);
            await using var impatient = await Cells.ConnectAsync(first.CommandEndpoint, TestIds.Next("impatient"), o => o with { RequestTimeout = TimeSpan.FromMilliseconds(500) }, Ct);
            await first.KillAsync(Ct);
            await Eventually.That("both cells see the session lost",
                () => cell.CurrentState == CellState.Reconnecting && impatient.CurrentState == CellState.Reconnecting, TimeSpan.FromSeconds(5), Ct);

            var channel = TestIds.Next("later");
            var subscribing = cell.SubscribeAsync(channel, Catch.Multi, Ct);
            var timeout = await Assert.ThrowsExactlyAsync<ThynapseTimeoutException>(() => impatient.SubscribeAsync(channel, Catch.Multi, Ct));
            StringAssert.Contains(timeout.Message, "Reconnecting", "the timeout says the cell has no session");
            Assert.IsFalse(subscribing.IsCompleted, "no session, no subscription yet");

            using var second = await first.StartAgainAsync(Ct, Quick);
            await using var subscription = await subscribing.Within("the subscription after the re-join", TimeSpan.FromSeconds(15));
            var caught = new EventCollector();
            using var _ = subscription.Subscribe(caught);
            await using var publisher = await Cells.ConnectAsync(second.CommandEndpoint, TestIds.Next("publisher"), o => o, Ct);
            Assert.AreEqual(1, (await publisher.PublishAsync(channel, "hello", cancellationToken: Ct)).Receivers, "the subscription is in force");
            await caught.WaitForAsync(1, "the late subscription", Ct);
        }
        finally
        {
            first.Dispose();
        }
    }
}
