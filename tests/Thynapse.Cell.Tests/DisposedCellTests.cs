namespace Thynapse.Cell.Tests;

/// <summary>Issue 15, finding 3: every public member of a disposed cell throws <see cref="ObjectDisposedException"/> at once.</summary>
[TestClass]
public sealed class DisposedCellTests : TestBase
{
    private static readonly Thynapse.Transmitter.Transmitter _transmitter = SharedTransmitter.Instance;

    public static IEnumerable<object[]> Members =>
    [
        ["SubscribeAsync", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, ct) => c.SubscribeAsync("gone.*", Catch.Multi, ct))],
        ["HandleAsync", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, ct) => c.HandleAsync("gone.*", (_, _) => Task.CompletedTask, cancellationToken: ct))],
        ["Events", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, _) => Task.FromResult(c.Events("gone.*", Catch.Multi)))],
        ["Watch", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, _) => Task.FromResult(c.Watch()))],
        ["Publish", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, _) => Run(() => c.Publish("gone.x", "x")))],
        ["PublishAsync", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, ct) => c.PublishAsync("gone.x", "x", cancellationToken: ct))],
        ["FindCellsAsync", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, ct) => c.FindCellsAsync(cancellationToken: ct))],
        ["UpdateMetadataAsync", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, ct) => c.UpdateMetadataAsync(new JObject { ["a"] = 1 }, cancellationToken: ct))],
        ["SetMetadataAsync", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, ct) => c.SetMetadataAsync("a", 1, ct))],
        ["SetTagsAsync", (Func<Thynapse.Cell.Cell, CancellationToken, Task>)((c, ct) => c.SetTagsAsync(["a"], ct))],
    ];

    [TestMethod]
    [Timeout(15_000)]
    [DynamicData(nameof(Members))]
    public async Task Member_OfADisposedCell_ThrowsObjectDisposedAtOnce(string member, Func<Thynapse.Cell.Cell, CancellationToken, Task> call)
    {
        var cell = await Cells.ConnectAsync(_transmitter, TestIds.Next("disposed"), Ct);
        await cell.DisposeAsync();

        // At once: a call that reached a disposed NetMQ queue used to block its thread for good.
        var started = Environment.TickCount64;
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Task.Run(() => call(cell, Ct)).WaitAsync(TimeSpan.FromSeconds(3)),
            $"{member} of a disposed cell");
        Assert.IsLessThan(1000L, Environment.TickCount64 - started, $"{member} threw at once");
        Assert.AreEqual(CellState.Closed, cell.CurrentState);
    }

    /// <summary>A lazy stream subscribed to after the cell was disposed ends with the error instead of hanging.</summary>
    [TestMethod]
    [Timeout(15_000)]
    public async Task LazyEvents_SubscribedAfterDisposal_EndWithObjectDisposed()
    {
        var cell = await Cells.ConnectAsync(_transmitter, TestIds.Next("lazy"), Ct);
        var events = cell.Events("later.*", Catch.Multi);
        await cell.DisposeAsync();

        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = events.Subscribe(_ => { }, ex => failed.TrySetResult(ex));
        Assert.IsInstanceOfType<ObjectDisposedException>(await failed.Task.Within("OnError after subscribing to a disposed cell", TimeSpan.FromSeconds(3)));
    }

    private static Task Run(Action action)
    {
        action();
        return Task.CompletedTask;
    }
}
