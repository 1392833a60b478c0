using System.Diagnostics;

namespace Thynapse.Cell.Tests;

/// <summary>
/// Issue 15, finding 5: a handler that does not complete is told (its token is cancelled at the ack deadline), its
/// work goes to another cell, disposal is bounded, a dead letter says where and why, and a handler can ask for more
/// time (<see cref="Event.InProgressAsync"/>).
/// </summary>
[TestClass]
public sealed class HandlerDeadlineTests : TestBase
{
    private static readonly TimeSpan AckTimeout = TimeSpan.FromMilliseconds(300);

    [TestMethod]
    [Timeout(30_000)]
    public async Task HangingHandler_HasItsTokenCancelledAtTheAckDeadline()
    {
        var transmitter = SharedTransmitter.Instance;
        await using var worker = await Cells.ConnectAsync(transmitter, TestIds.Next("hanging"), Ct);
        var notices = new ConcurrentQueue<CellNotice>();
        using var _ = worker.Notices.Subscribe(notices.Enqueue);
        var cancelledAfter = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = TestIds.Next("hang");
        await using var work = await worker.HandleAsync(channel, async (e, token) =>
        {
            var started = Stopwatch.StartNew();
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            finally
            {
                cancelledAfter.TrySetResult(started.Elapsed);
            }
        }, new HandlerOptions { AckTimeout = AckTimeout, MaxAttempts = 1 }, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);

        publisher.Publish(channel, "never done");

        var after = await cancelledAfter.Task.Within("the handler's token to be cancelled", TimeSpan.FromSeconds(10));
        TestContext.WriteLine($"cancelled {after.TotalMilliseconds:0} ms after the handler started (ack timeout {AckTimeout.TotalMilliseconds} ms)");
        Assert.IsLessThan(TimeSpan.FromSeconds(3), after, "cancelled at the deadline, not never");
        await Eventually.That("the timeout is counted and noticed", () => worker.HandlersTimedOut == 1 && notices.Any(n => n.Kind == CellNoticeKind.HandlerTimedOut), cancellationToken: Ct);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task HungCell_LosesItsWorkToTheOtherCellAndDisposesWithinTheStopTimeout()
    {
        const int events = 20;
        await using var transmitter = Transmitters.StartLoopback();
        var service = TestIds.Next("workers");
        var channel = TestIds.Next("jobs");
        var hung = await Cells.ConnectAsync(transmitter, service, o => o with { HandlerStopTimeout = TimeSpan.FromSeconds(1) }, Ct);
        var hungStarted = 0;
        await using var working = await Cells.ConnectAsync(transmitter, service, Ct);
        var done = new ConcurrentQueue<ulong>();
        try
        {
            // The hung cell's handler never returns and ignores its token: the worst case.
            var neverEnds = new TaskCompletionSource();
            await hung.HandleAsync(channel, (_, _) =>
            {
                Interlocked.Increment(ref hungStarted);
                return neverEnds.Task;
            }, new HandlerOptions { AckTimeout = AckTimeout, Prefetch = 4 }, Ct);
            await working.HandleAsync(channel, (e, _) =>
            {
                done.Enqueue(e.Sequence);
                return Task.CompletedTask;
            }, new HandlerOptions { AckTimeout = AckTimeout, Prefetch = 4 }, Ct);
            await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);

            var results = await Task.WhenAll(Enumerable.Range(0, events)
                    .Select(i => publisher.PublishAsync(channel, $"job {i}", new PublishOptions { Await = PublishAwait.Completion }, Ct)))
                .Within("every job to complete", TimeSpan.FromSeconds(20));

            TestContext.WriteLine($"the hung cell started {hungStarted} handlers; the working one did {done.Count} jobs; {transmitter.Stats.AckTimeouts} ack timeouts");
            Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed));
            Assert.AreEqual(events, done.Distinct().Count(), "the working cell did every job, the hung cell's too");
            Assert.IsGreaterThan(0L, transmitter.Stats.AckTimeouts, "the hung cell did get some, which timed out");
        }
        finally
        {
            var disposing = Stopwatch.StartNew();
            await hung.DisposeAsync().AsTask().Within("the hung cell's disposal", TimeSpan.FromSeconds(10));
            TestContext.WriteLine($"the hung cell disposed in {disposing.ElapsedMilliseconds} ms (stop timeout 1 s)");
            Assert.IsLessThan(TimeSpan.FromSeconds(5), disposing.Elapsed, "disposal is bounded by the stop timeout");
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task DeadLetteredCompletion_NamesTheServiceAndTheLastReason()
    {
        var transmitter = SharedTransmitter.Instance;
        var service = TestIds.Next("failing");
        await using var worker = await Cells.ConnectAsync(transmitter, service, Ct);
        var channel = TestIds.Next("doomed");
        await using var work = await worker.HandleAsync(channel, (_, _) => throw new InvalidOperationException("the database is down"),
            new HandlerOptions { MaxAttempts = 2 }, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);

        var failure = await Assert.ThrowsExactlyAsync<ThynapseDeadLetteredException>(
            () => publisher.PublishAsync(channel, "x", new PublishOptions { Await = PublishAwait.Completion }, Ct));

        TestContext.WriteLine(failure.Message);
        Assert.AreEqual(service, failure.Service);
        Assert.AreEqual(2, failure.Attempts);
        StringAssert.Contains(failure.Reason, "the database is down");
        StringAssert.Contains(failure.Message, $"service '{service}'");
        StringAssert.Contains(failure.Message, "the database is down");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task InProgress_KeepsASlowHandlersEventFromTimingOut()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var worker = await Cells.ConnectAsync(transmitter, TestIds.Next("patient"), Ct);
        var channel = TestIds.Next("long");
        var cancelled = false;
        await using var work = await worker.HandleAsync(channel, async (e, token) =>
        {
            // A second of work, four ack timeouts, saying it is in progress every 100 ms.
            for (var i = 0; i < 10; i++)
            {
                await e.InProgressAsync();
                await Task.Delay(100, CancellationToken.None); // allowed: the work itself
                cancelled |= token.IsCancellationRequested;
            }
        }, new HandlerOptions { AckTimeout = AckTimeout }, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);

        var result = await publisher.PublishAsync(channel, "x", new PublishOptions { Await = PublishAwait.Completion }, Ct);

        Assert.AreEqual(PublishStatus.Completed, result.Status);
        Assert.IsFalse(cancelled, "the token was never cancelled");
        Assert.AreEqual(0L, transmitter.Stats.AckTimeouts, "the transmitter never timed it out");
        Assert.AreEqual(0L, transmitter.Stats.Redeliveries);
        Assert.IsGreaterThanOrEqualTo(9L, transmitter.Stats.Extensions);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task EventThatWaitedPastItsDeadline_IsRefusedWithoutRunningTheHandler()
    {
        var transmitter = SharedTransmitter.Instance;
        var service = TestIds.Next("busy");
        await using var worker = await Cells.ConnectAsync(transmitter, service, Ct);
        var notices = new ConcurrentQueue<CellNotice>();
        using var _ = worker.Notices.Subscribe(notices.Enqueue);
        var channel = TestIds.Next("queued");
        var runs = new ConcurrentQueue<ulong>();
        await using var work = await worker.HandleAsync(channel, async (e, _) =>
        {
            runs.Enqueue(e.Sequence);
            if (runs.Count == 1)
            {
                await Task.Delay(800, CancellationToken.None); // allowed: the first job is slow and ignores its token
            }
        }, new HandlerOptions { AckTimeout = AckTimeout, Prefetch = 4 }, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(i => publisher.PublishAsync(channel, $"{i}", new PublishOptions { Await = PublishAwait.Completion }, Ct)));

        Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed));
        Assert.IsTrue(notices.Any(n => n.Kind == CellNoticeKind.HandlerTimedOut && n.Message.Contains("waited past its ack deadline", StringComparison.Ordinal)),
            "the events queued behind the slow one were refused unhandled once their deadline had passed");
        TestContext.WriteLine($"handler runs: {string.Join(", ", runs)}; timed out {worker.HandlersTimedOut}");
    }
}
