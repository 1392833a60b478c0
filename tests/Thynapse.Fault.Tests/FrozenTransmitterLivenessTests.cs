namespace Thynapse.Fault.Tests;

/// <summary>
/// Review finding 17b: a cell that publishes now and then to a transmitter frozen with SIGSTOP. The frozen process's
/// kernel keeps accepting the cell's few bytes, which the SDK used to count as a sign of life, so the cell never gave
/// the transmitter up. It must lose the session within the liveness timeout and a margin.
/// </summary>
[TestClass]
public sealed class FrozenTransmitterLivenessTests : TestBase
{
    private const int LivenessMs = 1000;

    [TestMethod]
    [Timeout(60_000)]
    public async Task SlowPublisher_LosesItsSessionWithAFrozenTransmitterWithinTheLivenessTimeout()
    {
        using var transmitter = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--heartbeat-ms", "200", "--liveness-ms", $"{LivenessMs}"]);
        await using var cell = await Cell.Cell.ConnectAsync(CellOptions.Default with { Transmitter = transmitter.CommandEndpoint, Service = TestIds.Next("ticker") }, Ct);
        var lost = SlowPublisher.NextNoticeAsync(cell, CellNoticeKind.ConnectionLost);
        await cell.PublishAsync("metrics.tick", "before the freeze", cancellationToken: Ct); // the transmitter answers until now
        var frozen = Stopwatch.StartNew();
        await using (new SlowPublisher(cell, "metrics.tick", TimeSpan.FromMilliseconds(50)))
        {
            transmitter.Process.Signal(ChildProcess.SigStop);
            try
            {
                // Liveness, a heartbeat tick, and room for a loaded machine; never in the life of a frozen process.
                await lost.Within("the cell to give the frozen transmitter up", TimeSpan.FromMilliseconds(LivenessMs * 8));
            }
            finally
            {
                transmitter.Process.Signal(ChildProcess.SigCont);
            }
        }

        TestContext.WriteLine($"the session was lost {frozen.ElapsedMilliseconds} ms after the transmitter froze (liveness {LivenessMs} ms)");
    }
}
