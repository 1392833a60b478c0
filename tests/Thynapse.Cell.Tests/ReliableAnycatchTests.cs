namespace Thynapse.Cell.Tests;

/// <summary>Acknowledged anycatch: acks, nacks, timeouts, dead letters, prefetch, queues and completion (PROTOCOL.md §4.5).</summary>
[TestClass]
public sealed class ReliableAnycatchTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task Handler_ReturningAcksAndCompletesThePublish()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var worker = await Cells.ConnectAsync(transmitter, "workers", Ct);
        var handled = new ConcurrentBag<ulong>();
        await using var work = await worker.HandleAsync("jobs.*", (e, _) => { handled.Add(e.Sequence); return Task.CompletedTask; }, cancellationToken: Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            producer.PublishAsync("jobs.render", $"{i}", new PublishOptions { Await = PublishAwait.Completion }, Ct)));

        Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed && r.Receivers == 1));
        Assert.HasCount(100, handled.Distinct());
        Assert.AreEqual(100L, transmitter.Stats.Acks);
        await Eventually.That("nothing is left in flight", () => transmitter.Stats.InFlight == 0, cancellationToken: Ct);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Nack_RedeliversToAnotherCellOfTheService()
    {
        await using var transmitter = Transmitters.StartLoopback();
        var calls = new ConcurrentQueue<(string Cell, int Attempt)>();
        await using var a = await Cells.ConnectAsync(transmitter, "workers", Ct);
        await using var b = await Cells.ConnectAsync(transmitter, "workers", Ct);
        Task Failing(Event e, CancellationToken _)
        {
            calls.Enqueue(("a", e.Attempt));
            throw new InvalidOperationException("cell a cannot do this");
        }

        await using var workA = await a.HandleAsync("jobs.>", Failing, cancellationToken: Ct);
        await using var workB = await b.HandleAsync("jobs.>", (e, _) => { calls.Enqueue(("b", e.Attempt)); return Task.CompletedTask; }, cancellationToken: Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);

        for (var i = 0; i < 10; i++)
        {
            var result = await producer.PublishAsync("jobs.x", $"{i}", new PublishOptions { Await = PublishAwait.Completion }, Ct);
            Assert.AreEqual(PublishStatus.Completed, result.Status);
        }

        var byA = calls.Where(c => c.Cell == "a").ToList();
        var byB = calls.Where(c => c.Cell == "b").ToList();
        Assert.IsNotEmpty(byA, "a got its share of first attempts");
        Assert.HasCount(10, byB, "b handled every event in the end");
        Assert.IsTrue(byA.All(c => c.Attempt == 1), "a never got a redelivery: the next attempt avoids the cell that failed");
        Assert.HasCount(byA.Count, byB.Where(c => c.Attempt == 2), "each event a refused came to b as attempt 2");
        Assert.AreEqual((long)byA.Count, transmitter.Stats.Nacks);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task AckTimeout_RedeliversWhatACellSitsOn()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var sleepy = await Cells.ConnectAsync(transmitter, "workers", Ct);
        await using var awake = await Cells.ConnectAsync(transmitter, "workers", Ct);
        var held = new EventCollector();
        await using var sits = await sleepy.SubscribeAsync("jobs.>", Catch.Any, new SubscriptionOptions { Acknowledge = true, AckTimeout = TimeSpan.FromMilliseconds(200) }, Ct);
        using var _ = sits.Subscribe(held); // receives, never acknowledges
        var done = new ConcurrentQueue<Event>();
        await using var works = await awake.HandleAsync("jobs.>", (e, _) => { done.Enqueue(e); return Task.CompletedTask; }, cancellationToken: Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            producer.PublishAsync("jobs.y", $"{i}", new PublishOptions { Await = PublishAwait.Completion }, Ct)));

        Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed));
        Assert.IsGreaterThan(0, held.Count, "the sleepy cell got some first attempts");
        Assert.AreEqual((long)held.Count, transmitter.Stats.AckTimeouts, "each of them timed out");
        Assert.HasCount(held.Count, done.Where(e => e.Attempt == 2), "and was redelivered to the other cell");
        Assert.IsTrue(held.Events.All(e => e.RequiresAck));
        held.AssertNoError("the sleepy cell's subscription");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PoisonEvent_IsDeadLetteredAfterMaxAttempts()
    {
        await using var transmitter = Transmitters.StartLoopback();
        var service = TestIds.Next("fragile");
        var attempts = new ConcurrentQueue<int>();
        await using var w1 = await Cells.ConnectAsync(transmitter, service, Ct);
        await using var w2 = await Cells.ConnectAsync(transmitter, service, Ct);
        Task Poisoned(Event e, CancellationToken _)
        {
            attempts.Enqueue(e.Attempt);
            throw new FormatException("cannot parse");
        }

        var options = new HandlerOptions { MaxAttempts = 3 };
        await using var h1 = await w1.HandleAsync("orders.>", Poisoned, options, Ct);
        await using var h2 = await w2.HandleAsync("orders.>", Poisoned, options, Ct);
        await using var auditor = await Cells.ConnectAsync(transmitter, "auditor", Ct);
        await using var deadLetters = await Catcher.SubscribeAsync(auditor, $"$DLQ.{service}", Catch.Multi, Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);

        var publish = producer.PublishAsync("orders.created", "{not json", new PublishOptions { Await = PublishAwait.Completion }, Ct);

        await Assert.ThrowsExactlyAsync<ThynapseDeadLetteredException>(() => publish);
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, attempts.ToArray(), "three attempts, alternating cells, then no more");
        await deadLetters.WaitForAsync(1, "the dead-letter catcher", Ct);
        var letter = deadLetters.Events[0];
        Assert.AreEqual($"$DLQ.{service}", letter.Channel);
        Assert.AreEqual("{not json", letter.BodyAsString());
        Assert.IsNotNull(letter.DeadLetter);
        Assert.AreEqual("orders.created", letter.DeadLetter.Channel);
        Assert.AreEqual(service, letter.DeadLetter.Service);
        Assert.AreEqual(3, letter.DeadLetter.Attempts);
        Assert.Contains("cannot parse", letter.DeadLetter.Reason);
        Assert.AreEqual(1L, transmitter.Stats.DeadLetters);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Prefetch_IsNeverExceededAndTheRestWaitsAtTheTransmitter()
    {
        const int prefetch = 5, events = 60;
        await using var transmitter = Transmitters.StartLoopback();
        await using var worker = await Cells.ConnectAsync(transmitter, "slowworkers", Ct);
        var gate = new SemaphoreSlim(0);
        var holding = 0;
        var maxHolding = 0;
        var handled = 0;
        async Task Slow(Event e, CancellationToken token)
        {
            var now = Interlocked.Increment(ref holding);
            InterlockedMax(ref maxHolding, now);
            await gate.WaitAsync(token);
            Interlocked.Decrement(ref holding);
            Interlocked.Increment(ref handled);
        }

        await using var work = await worker.HandleAsync("slow.>", Slow, new HandlerOptions { Prefetch = prefetch, MaxConcurrency = 100 }, Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);
        for (var i = 0; i < events; i++)
        {
            await producer.PublishAsync("slow.job", $"{i}", cancellationToken: Ct);
        }

        await Eventually.That("the worker holds its prefetch", () => Volatile.Read(ref holding) == prefetch, cancellationToken: Ct);
        Assert.AreEqual((long)prefetch, transmitter.Stats.InFlight);
        Assert.AreEqual((long)(events - prefetch), transmitter.Stats.Queued, "the rest waits at the transmitter");

        gate.Release(events);
        await Eventually.That("every event is handled", () => Volatile.Read(ref handled) == events, cancellationToken: Ct);
        Assert.AreEqual(prefetch, maxHolding, "the worker never held more than its prefetch");
        Assert.AreEqual(0L, transmitter.Stats.Queued);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FullServiceQueue_RefusesThePublisherClearly()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { ServiceQueueLimit = 10 });
        await using var worker = await Cells.ConnectAsync(transmitter, "busy", Ct);
        var release = new TaskCompletionSource();
        await using var work = await worker.HandleAsync("busy.>", (_, token) => release.Task.WaitAsync(token), new HandlerOptions { Prefetch = 1 }, Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);
        var notices = new ConcurrentQueue<CellNotice>();
        using var watch = producer.Notices.Subscribe(notices.Enqueue);

        for (var i = 0; i < 11; i++)
        {
            await producer.PublishAsync("busy.job", $"{i}", cancellationToken: Ct); // 1 in flight + 10 queued
        }

        var refused = await Assert.ThrowsExactlyAsync<ThynapseRejectedException>(() => producer.PublishAsync("busy.job", "one too many", cancellationToken: Ct));
        Assert.AreEqual(ThynapseErrorCode.QueueFull, refused.Code);
        Assert.Contains("busy", refused.Detail);
        producer.Publish("busy.job", "fire and forget");
        await Eventually.That("the fire-and-forget refusal is a notice", () => notices.Any(n => n.Kind == CellNoticeKind.PublishRejected && n.Code == ThynapseErrorCode.QueueFull), cancellationToken: Ct);
        release.SetResult();
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task RedeliveredDuplicate_IsAcknowledgedWithoutRunningTheHandlerTwice()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var worker = await Cells.ConnectAsync(transmitter, "onlyone", Ct);
        var runs = 0;
        async Task TooSlow(Event e, CancellationToken token)
        {
            Interlocked.Increment(ref runs);
            // Allowed: the work outlasts the ack timeout on purpose, and does not stop when its token is cancelled at
            // the deadline (one that honours the token is refused and handled again, which is what the token is for).
            await Task.Delay(600, CancellationToken.None);
        }

        // Enough attempts that the redeliveries piling up behind the slow first one never reach the dead-letter limit.
        await using var work = await worker.HandleAsync("once.>", TooSlow, new HandlerOptions { AckTimeout = TimeSpan.FromMilliseconds(150), MaxAttempts = 1000 }, Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);

        var result = await producer.PublishAsync("once.job", "x", new PublishOptions { Await = PublishAwait.Completion }, Ct);

        Assert.AreEqual(PublishStatus.Completed, result.Status);
        Assert.AreEqual(1, runs, "the handler ran once");
        Assert.IsGreaterThanOrEqualTo(1L, worker.DuplicatesSuppressed, "the redelivery (same cell: it is the only one) was recognised");
        Assert.IsGreaterThanOrEqualTo(1L, transmitter.Stats.AckTimeouts);
    }

    [TestMethod]
    [Timeout(60_000)]
    [DataRow(32, 32, 4, DisplayName = "concurrent handlers, one in 4 waits")]
    [DataRow(1, 256, 40, DisplayName = "the serial loop, one in 40 waits")]
    public async Task HandlerBody_StaysIntactUntilTheHandlerHasFinished(int concurrency, int prefetch, int oneWaitingIn)
    {
        // Handlers' frames go back to the buffer pool when the last handler given one of their events has finished,
        // and the next frames reuse them: a body read after an await must still be the one published.
        const int events = 2000;
        await using var transmitter = Transmitters.StartLoopback();
        await using var worker = await Cells.ConnectAsync(transmitter, "intact", Ct);
        var handled = 0;
        var corrupted = 0;
        var numbering = new EventNumbering();
        async Task Check(Event e, CancellationToken token)
        {
            var expected = numbering.ExpectedBody(e);
            if (BitConverter.ToInt32(e.Body.Span) % oneWaitingIn == 0)
            {
                // Allowed: this handler sits on its event while acks for the others let later frames in.
                await Task.Delay(20, token);
            }

            if (!e.Body.Span.SequenceEqual(expected))
            {
                Interlocked.Increment(ref corrupted);
            }

            Interlocked.Increment(ref handled);
        }

        await using var work = await worker.HandleAsync("intact.>", Check, new HandlerOptions { Prefetch = prefetch, MaxConcurrency = concurrency }, Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);
        for (var i = 0; i < events; i++)
        {
            producer.Publish("intact.job", EventNumbering.BodyOf(i));
        }

        await Eventually.That("every event is handled", () => Volatile.Read(ref handled) == events, TimeSpan.FromSeconds(30), Ct);
        Assert.AreEqual(0, corrupted, "bodies changed under running handlers");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ObservedBody_StaysIntactWhenItsFrameAlsoCarriedHandledEvents()
    {
        // One cell observes and handles the same channel, so frames carry events of both: an observer may keep its
        // events for as long as it likes, so such a frame must never go back to the pool.
        const int events = 5000;
        await using var transmitter = Transmitters.StartLoopback();
        await using var worker = await Cells.ConnectAsync(transmitter, "mixed", Ct);
        await using var observed = await Catcher.SubscribeAsync(worker, "mixed.>", Catch.Multi, Ct);
        var handled = 0;
        await using var work = await worker.HandleAsync("mixed.>", (_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; }, cancellationToken: Ct);
        await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);
        for (var i = 0; i < events; i++)
        {
            producer.Publish("mixed.job", EventNumbering.BodyOf(i));
        }

        await observed.WaitForAsync(events, "the observer", Ct);
        await Eventually.That("every event is handled", () => Volatile.Read(ref handled) == events, TimeSpan.FromSeconds(30), Ct);
        var numbering = new EventNumbering();
        var kept = observed.Events;
        Assert.AreEqual(0, kept.Count(e => !e.Body.Span.SequenceEqual(numbering.ExpectedBody(e))), "kept bodies changed after their frames' handlers finished");
    }

    /// <summary>Bodies that tell which of a producer's events they belong to (it publishes nothing else, so its sequence numbers count them).</summary>
    private sealed class EventNumbering
    {
        private const int Size = 200;
        private long _firstSequence;

        public static byte[] BodyOf(int index)
        {
            var body = new byte[Size];
            BitConverter.TryWriteBytes(body, index);
            for (var j = 4; j < Size; j++)
            {
                body[j] = (byte)((index * 31) + j);
            }

            return body;
        }

        /// <summary>The body event <paramref name="e"/> was published with, by its sequence number (the first event seen sets the offset).</summary>
        public byte[] ExpectedBody(Event e)
        {
            Interlocked.CompareExchange(ref _firstSequence, (long)e.Sequence - BitConverter.ToInt32(e.Body.Span), 0);
            return BodyOf((int)((long)e.Sequence - Volatile.Read(ref _firstSequence)));
        }
    }

    [TestMethod]
    public async Task Ack_OnAnEventThatNeedsNoneIsAMistake()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var cell = await Cells.ConnectAsync(transmitter, "plain", Ct);
        var collector = new EventCollector();
        await using var plain = await cell.SubscribeAsync("plain.x", Catch.Any, Ct);
        using var _ = plain.Subscribe(collector);
        await cell.PublishAsync("plain.x", "x", cancellationToken: Ct);
        await collector.WaitForAsync(1, "the plain anycatch subscriber", Ct);

        Assert.IsFalse(collector.Events[0].RequiresAck);
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(async () => await collector.Events[0].AckAsync());
        Assert.ThrowsExactly<ArgumentException>(() => cell.SubscribeAsync("a", Catch.Multi, new SubscriptionOptions { Acknowledge = true }, Ct));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
