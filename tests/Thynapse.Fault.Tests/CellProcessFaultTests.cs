namespace Thynapse.Fault.Tests;

/// <summary>Anycatch cells in their own processes, killed or frozen mid-stream.</summary>
[TestClass]
public sealed class CellProcessFaultTests : TestBase
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(2);

    [TestMethod]
    [Timeout(60_000)]
    public async Task KilledCellProcess_StopsBeingChosenWithinTheLivenessTimeout()
    {
        await RunAsync(ChildProcess.SigKill, "killed");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task FrozenCellProcess_StopsBeingChosenWithinTheLivenessTimeout()
    {
        // SIGSTOP keeps the TCP connection open: only the missing heartbeats can reveal it.
        await RunAsync(ChildProcess.SigStop, "frozen");
    }

    private async Task RunAsync(int signal, string what)
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(250), LivenessTimeout = Liveness });
        var service = TestIds.Next("workers");
        var channel = TestIds.Next("jobs");
        using var remote = ChildProcess.StartDotnet("Thynapse.TestCell.dll", transmitter.CommandEndpoint, service, channel + ".>", "any");
        await remote.WaitForLineAsync("ready", cancellationToken: Ct);
        await using var local1 = await Cells.ConnectAsync(transmitter, service, Ct);
        await using var local2 = await Cells.ConnectAsync(transmitter, service, Ct);
        var caught1 = new EventCollector();
        var caught2 = new EventCollector();
        await using var sub1 = await local1.SubscribeAsync(channel + ".>", Catch.Any, Ct);
        await using var sub2 = await local2.SubscribeAsync(channel + ".>", Catch.Any, Ct);
        using var a = sub1.Subscribe(caught1);
        using var b = sub2.Subscribe(caught2);
        await using var publisher = await Cells.ConnectAsync(transmitter, "producer", Ct);

        // Before the fault: the remote cell takes its share.
        for (var i = 0; i < 30; i++)
        {
            await publisher.PublishAsync($"{channel}.job", $"{i}", cancellationToken: Ct);
        }

        await remote.WaitForLineAsync("caught", cancellationToken: Ct);
        Assert.AreEqual(3L, transmitter.Stats.Cells - 1, "three workers and the publisher");

        var faultAt = DateTime.UtcNow;
        remote.Signal(signal);
        await Eventually.That($"the transmitter drops the {what} cell", () => transmitter.Stats.Cells == 3, Liveness * 3, Ct);
        var noticedAfter = DateTime.UtcNow - faultAt;
        TestContext.WriteLine($"{what} cell dropped {noticedAfter.TotalMilliseconds:0} ms after the fault (liveness {Liveness.TotalMilliseconds:0} ms)");
        Assert.IsLessThanOrEqualTo(Liveness + TimeSpan.FromSeconds(1), noticedAfter, "dropped within the liveness timeout (plus one check interval and scheduling slack)");

        // After: every event goes to a live cell.
        var before = caught1.Count + caught2.Count;
        for (var i = 0; i < 100; i++)
        {
            var result = await publisher.PublishAsync($"{channel}.job", $"after {i}", cancellationToken: Ct);
            Assert.AreEqual(1, result.Receivers);
        }

        await Eventually.That("all 100 later events reach the live cells", () => caught1.Count + caught2.Count == before + 100, cancellationToken: Ct);
        Assert.IsGreaterThan(before / 2, caught1.Count);
        Assert.IsGreaterThan(before / 2, caught2.Count);
        caught1.AssertNoError("local cell 1");
        caught2.AssertNoError("local cell 2");
        if (signal == ChildProcess.SigStop)
        {
            remote.Signal(ChildProcess.SigKill);
        }
    }
}
