namespace Thynapse.Cell.Tests;

/// <summary>Cells that stall, subscriptions nobody observes: the session and its resources stay sound.</summary>
[TestClass]
public sealed class ResilienceTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task StalledSocketThread_GetsItsSessionBack()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(200), LivenessTimeout = TimeSpan.FromSeconds(1) });
        await using var cell = await Cells.ConnectAsync(transmitter, "stalling", Ct);
        var states = new ConcurrentQueue<CellState>();
        using var watching = cell.State.Subscribe(states.Enqueue);
        var notices = new ConcurrentQueue<CellNotice>();
        using var noticing = cell.Notices.Subscribe(notices.Enqueue);
        await using var caught = await Catcher.SubscribeAsync(cell, "after.stall", Catch.Multi, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, "publisher", Ct);
        var before = transmitter.Stats;

        // The cell's own thread stops for longer than the liveness timeout (a GC pause, a starved machine).
        cell.RunOnSocketThread(() => Thread.Sleep(2_500)); // allowed: this is the stall under test, not a wait

        await Eventually.That("the stalled cell lost its session and is welcomed again", () =>
            states.Contains(CellState.Reconnecting) && cell.CurrentState == CellState.Connected, TimeSpan.FromSeconds(15), Ct);
        await Eventually.That("the stalled cell is routed to again", async () =>
            (await publisher.PublishAsync("after.stall", "x", cancellationToken: Ct)).Receivers == 1, TimeSpan.FromSeconds(15), Ct);
        await caught.WaitForAsync(1, "the cell after its stall", Ct);

        // The stall really cost the session (else this test proves nothing about re-joining), and it came back whole.
        var after = transmitter.Stats;
        Assert.IsGreaterThan(before.CellsExpired, after.CellsExpired, "the transmitter never dropped the stalled cell");
        Assert.IsGreaterThan(before.CellsJoined, after.CellsJoined, "the stalled cell never sent HELO again");
        var seen = states.ToArray();
        Assert.IsTrue(seen is [CellState.Connected, CellState.Reconnecting, ..] && seen.Skip(2).Contains(CellState.Connected),
            $"the cell's states: {string.Join(" → ", seen)}");
        Assert.IsTrue(notices.Any(n => n.Kind == CellNoticeKind.Reconnected),
            $"no Reconnected notice; notices: {string.Join("; ", notices.Select(n => $"{n.Kind}: {n.Message}"))}");
        caught.AssertNoError();
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task SubscriptionNobodyObserved_CompletesWhenDisposed()
    {
        var transmitter = SharedTransmitter.Instance;
        await using var cell = await Cells.ConnectAsync(transmitter, "unobserved", Ct);
        var subscription = await cell.SubscribeAsync("never.watched", Catch.Multi, Ct);
        await cell.PublishAsync("never.watched", "buffered, never read", cancellationToken: Ct);

        await subscription.DisposeAsync();

        await subscription.Completion.Within("the unobserved subscription to complete");
    }
}
