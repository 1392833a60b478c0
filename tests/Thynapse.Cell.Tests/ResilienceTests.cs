using Thynapse.Cell;
using Thynapse.Core;
using Thynapse.TestKit;

namespace Thynapse.Cell.Tests;

/// <summary>Cells that stall, subscriptions nobody observes: the session and its resources stay sound.</summary>
[TestClass]
public sealed class ResilienceTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task StalledSocketThread_GetsItsSessionBack()
    {
        var ct = TestContext.CancellationToken;
        await using var transmitter = Transmitters.StartLoopback(o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(200), LivenessTimeout = TimeSpan.FromSeconds(1) });
        await using var cell = await Cells.ConnectAsync(transmitter, "stalling", ct);
        var caught = new EventCollector();
        await using var subscription = await cell.SubscribeAsync("after.stall", Catch.Multi, ct);
        using var _ = subscription.Subscribe(caught);
        await using var publisher = await Cells.ConnectAsync(transmitter, "publisher", ct);

        // The cell's own thread stops for longer than the liveness timeout (a GC pause, a starved machine).
        cell.RunOnSocketThread(() => Thread.Sleep(2_500)); // allowed: this is the stall under test, not a wait

        await Eventually.That("the stalled cell is routed to again", async () =>
            cell.CurrentState == CellState.Connected && (await publisher.PublishAsync("after.stall", "x", cancellationToken: ct)).Receivers == 1,
            TimeSpan.FromSeconds(15), ct);
        await caught.WaitForAsync(1, "the cell after its stall", ct);
    }

    [TestMethod]
    [Timeout(15_000, CooperativeCancellation = true)]
    public async Task SubscriptionNobodyObserved_CompletesWhenDisposed()
    {
        var ct = TestContext.CancellationToken;
        await using var transmitter = Transmitters.StartLoopback();
        await using var cell = await Cells.ConnectAsync(transmitter, "unobserved", ct);
        var subscription = await cell.SubscribeAsync("never.watched", Catch.Multi, ct);
        await cell.PublishAsync("never.watched", "buffered, never read", cancellationToken: ct);

        await subscription.DisposeAsync();

        await subscription.Completion.Within("the unobserved subscription to complete");
    }
}
