namespace Thynapse.Cell.Tests;

/// <summary>
/// Review finding 3: the SDK cancels a handler's token at its ack deadline (on a timer thread) and when the subscription
/// or the cell is disposed. A callback the application registered on the token that throws is its bug: logged, counted,
/// and neither the process nor the disposal ends with it.
/// </summary>
[TestClass]
public sealed class TokenCallbackTests : TestBase
{
    private static readonly HandlerOptions Short = new() { AckTimeout = TimeSpan.FromMilliseconds(300), MaxAttempts = 1 };

    [TestMethod]
    [Timeout(30_000)]
    public async Task CallbackThatThrowsAtTheDeadline_IsLoggedAndTheCellGoesOn()
    {
        await using var transmitter = Transmitters.StartLoopback();
        var log = new CollectingSink();
        await using var worker = await Cells.ConnectAsync(transmitter, TestIds.Next("throwing"), o => o with { Logger = log.Logger }, Ct);
        var channel = TestIds.Next("deadline");
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var work = await worker.HandleAsync(channel, async (e, token) =>
        {
            using var registration = token.Register(() => throw new InvalidOperationException("a callback with a bug"));
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            finally
            {
                ended.TrySetResult();
            }
        }, Short, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);

        publisher.Publish(channel, "never done");

        await ended.Task.Within("the handler's token to be cancelled at the deadline");
        await Eventually.That("the timeout is counted", () => worker.HandlersTimedOut == 1, cancellationToken: Ct);
        Assert.AreEqual(1L, worker.TokenCallbackFailures);
        Assert.IsTrue(log.Messages.Any(m => m.Contains("threw when the cell cancelled the token", StringComparison.Ordinal)), "the failure is logged");
        var after = await worker.PublishAsync(channel + ".after", "x", cancellationToken: Ct);
        Assert.AreEqual(PublishStatus.NoReceiver, after.Status, "the cell still publishes, and is answered");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task CallbackThatThrowsWhenTheSubscriptionIsDisposed_DoesNotFailTheDisposal()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var worker = await Cells.ConnectAsync(transmitter, TestIds.Next("throwing"), Ct);
        var (work, running) = await StartHangingHandlerAsync(worker, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);
        publisher.Publish(work.Pattern, "hangs");
        await running.Task.Within("the handler to start");

        await work.DisposeAsync().AsTask().Within("the subscription's disposal");

        await work.Completion.Within("the subscription to complete");
        Assert.AreEqual(1L, worker.TokenCallbackFailures);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task CallbackThatThrowsWhenTheCellIsDisposed_DoesNotFailTheDisposal()
    {
        await using var transmitter = Transmitters.StartLoopback();
        var worker = await Cells.ConnectAsync(transmitter, TestIds.Next("throwing"), Ct);
        var (work, running) = await StartHangingHandlerAsync(worker, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("publisher"), Ct);
        publisher.Publish(work.Pattern, "hangs");
        await running.Task.Within("the handler to start");

        await worker.DisposeAsync().AsTask().Within("the cell's disposal");

        Assert.AreEqual(CellState.Closed, worker.CurrentState);
        Assert.AreEqual(1L, worker.TokenCallbackFailures);
    }

    /// <summary>A handler that registers a throwing callback on its token and waits for the token.</summary>
    private static async Task<(CellSubscription Work, TaskCompletionSource Running)> StartHangingHandlerAsync(Thynapse.Cell.Cell worker, CancellationToken ct)
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = await worker.HandleAsync(TestIds.Next("stopping"), async (e, token) =>
        {
            using var registration = token.Register(() => throw new InvalidOperationException("a callback with a bug"));
            running.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        }, cancellationToken: ct);
        return (work, running);
    }
}
