namespace Thynapse.Cell.Tests;

/// <summary>
/// Review finding 11: once the cell (or the subscription) is being disposed, a handler takes no more events from its
/// buffer: their acknowledgements would go nowhere, so running them would only do the work twice. They are counted and
/// redelivered by the transmitter to another cell.
/// </summary>
[TestClass]
public sealed class HandlerStopTests : TestBase
{
    private const int Buffered = 7;

    [TestMethod]
    [Timeout(30_000)]
    public async Task DisposingTheCell_LeavesBufferedEventsUnhandledForAnotherCell()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var blocked = await BlockedWorker.StartAsync(transmitter, Ct);
        var (worker, service, channel, runs, release) = (blocked.Worker, blocked.Service, blocked.Channel, blocked.Runs, blocked.Release);
        await using var other = await Cells.ConnectAsync(transmitter, service, Ct);
        var done = new ConcurrentDictionary<string, int>();
        await using var otherWork = await other.HandleAsync(channel, (e, _) =>
        {
            done.AddOrUpdate(e.BodyAsString(), 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, cancellationToken: Ct);

        var disposing = worker.DisposeAsync().AsTask(); // the cell is stopping from here on
        release.SetResult();
        await disposing.Within("the worker's disposal");

        TestContext.WriteLine($"worker ran: {string.Join(", ", runs)}; the other cell did: {string.Join(", ", done.Keys.Order())}");
        Assert.HasCount(1, runs, "the stopping worker ran no buffered event");
        Assert.AreEqual((long)Buffered, worker.EventsLeftUnhandled);
        await Eventually.That("the other cell did every job the worker left", () => Enumerable.Range(1, Buffered).All(i => done.ContainsKey($"job {i}")), cancellationToken: Ct);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task DisposingTheSubscription_RefusesBufferedEventsWithoutRunningThem()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var blocked = await BlockedWorker.StartAsync(transmitter, Ct);
        var (worker, work, runs, release) = (blocked.Worker, blocked.Work, blocked.Runs, blocked.Release);

        var disposing = work.DisposeAsync().AsTask();
        await Eventually.That("the handler's token is cancelled", () => work.Stopping.IsCancellationRequested, cancellationToken: Ct);
        release.SetResult();
        await disposing.Within("the subscription's disposal");

        Assert.HasCount(1, runs, "the stopping handler ran no buffered event");
        Assert.AreEqual((long)Buffered, worker.EventsLeftUnhandled);
        await Eventually.That("the transmitter was told of every one", () => transmitter.Stats.Nacks >= Buffered, cancellationToken: Ct);
    }

    /// <summary>
    /// Review finding 12: a handler starts in a continuation of its SUBS answer, which can run after the cell began to
    /// stop; its watchdog timer, made then, was never disposed. Here the continuation comes after the whole disposal.
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task HandlerStartingAfterTheCellStopped_GetsNoWatchdogAndEnds()
    {
        await using var transmitter = Transmitters.StartLoopback();
        var worker = await Cells.ConnectAsync(transmitter, TestIds.Next("late"), Ct);
        var subscription = await worker.SubscribeAsync(TestIds.Next("jobs"), Catch.Any, new SubscriptionOptions { Acknowledge = true }, handled: true, Ct);
        await worker.DisposeAsync();

        worker.StartHandler(subscription, (_, _) => Task.CompletedTask, concurrency: 1);

        Assert.IsNull(subscription.Watchdog, "no watchdog is left running");
        await subscription.Handler!.Within("the late handler loop to end");
    }

    /// <summary>
    /// A worker cell of a fresh service whose handler (prefetch 16) runs the first of <see cref="Buffered"/> + 1 jobs
    /// published on a fresh channel and waits for <see cref="Release"/>, ignoring its token, while the others wait in
    /// its buffer; every run is recorded. Disposes the publisher, then the worker (if the test has not already).
    /// </summary>
    private sealed record BlockedWorker(
        Thynapse.Cell.Cell Worker,
        Thynapse.Cell.Cell Publisher,
        string Service,
        string Channel,
        CellSubscription Work,
        ConcurrentQueue<string> Runs,
        TaskCompletionSource Release) : IAsyncDisposable
    {
        public static async Task<BlockedWorker> StartAsync(Thynapse.Transmitter.Transmitter transmitter, CancellationToken ct)
        {
            var service = TestIds.Next("stopping");
            var channel = TestIds.Next("jobs");
            var worker = await Cells.ConnectAsync(transmitter, service, ct);
            var runs = new ConcurrentQueue<string>();
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var work = await worker.HandleAsync(channel, async (e, _) =>
            {
                runs.Enqueue(e.BodyAsString());
                await release.Task;
            }, new HandlerOptions { Prefetch = 16 }, ct);
            var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), ct);
            for (var i = 0; i <= Buffered; i++)
            {
                publisher.Publish(channel, $"job {i}");
            }

            await Eventually.That($"one job runs and {Buffered} wait in the worker's buffer", () => runs.Count == 1 && work.Queue.Count == Buffered, cancellationToken: ct);
            return new BlockedWorker(worker, publisher, service, channel, work, runs, release);
        }

        public async ValueTask DisposeAsync()
        {
            await Publisher.DisposeAsync();
            await Worker.DisposeAsync();
        }
    }
}
