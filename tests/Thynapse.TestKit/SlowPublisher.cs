using Thynapse.Cell;

namespace Thynapse.TestKit;

/// <summary>
/// Publishes a small fire-and-forget event on a cell every <c>interval</c> until disposed: a publisher whose sends never
/// fill a buffer on the way, so that only the transmitter's answers can tell the cell it is alive.
/// </summary>
public sealed class SlowPublisher : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _publishing;

    public SlowPublisher(Cell.Cell cell, string channel, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(cell);
        _publishing = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                cell.Publish(channel, "x");
                await Task.Delay(interval, CancellationToken.None); // allowed: the publisher's own pace
            }
        }, CancellationToken.None);
    }

    /// <summary>Completes at the first notice of <paramref name="kind"/> the cell raises from now on.</summary>
    public static Task<CellNotice> NextNoticeAsync(Cell.Cell cell, CellNoticeKind kind)
    {
        ArgumentNullException.ThrowIfNull(cell);
        var seen = new TaskCompletionSource<CellNotice>(TaskCreationOptions.RunContinuationsAsynchronously);
        var watching = cell.Notices.Subscribe(n =>
        {
            if (n.Kind == kind)
            {
                seen.TrySetResult(n);
            }
        });
        _ = seen.Task.ContinueWith(_ => watching.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return seen.Task;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _publishing;
        _stop.Dispose();
    }
}
