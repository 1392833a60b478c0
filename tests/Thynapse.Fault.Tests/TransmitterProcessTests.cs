namespace Thynapse.Fault.Tests;

/// <summary>The transmitter as a process: flags, signals, exit codes, restarts.</summary>
[TestClass]
public sealed class TransmitterProcessTests : TestBase
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task Sigterm_TellsCellsAndExitsWithZero()
    {
        using var transmitter = await TransmitterProcess.StartAsync(cancellationToken: Ct);
        await using var cell = await Cells.ConnectAsync(transmitter.CommandEndpoint, "sigterm", o => o, Ct);
        var notices = new List<CellNotice>();
        using var _ = cell.Notices.Subscribe(n => { lock (notices) { notices.Add(n); } });

        transmitter.Process.Signal(ChildProcess.SigTerm);

        Assert.AreEqual(0, await transmitter.Process.WaitForExitAsync(TimeSpan.FromSeconds(10), Ct), "exit code 0 after SIGTERM");
        await Eventually.That("the cell was told the transmitter left", () =>
        {
            lock (notices)
            {
                return notices.Any(n => n.Kind == CellNoticeKind.ConnectionLost && n.Message.Contains("goodbye", StringComparison.Ordinal));
            }
        }, cancellationToken: Ct);
        Assert.AreEqual(CellState.Reconnecting, cell.CurrentState);
        Assert.IsTrue(transmitter.Process.Lines.Any(l => l.Contains("shutting down", StringComparison.Ordinal)));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task KilledTransmitter_CellRejoinsItsReplacementWithItsSubscriptions()
    {
        var channel = TestIds.Next("rejoin");
        using var first = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--heartbeat-ms", "250", "--liveness-ms", "1500"]);
        await using var cell = await Cells.ConnectAsync(first.CommandEndpoint, "survivor", o => o, Ct);
        var caught = new EventCollector();
        await using var subscription = await cell.SubscribeAsync(channel, Catch.Multi, Ct);
        using var _ = subscription.Subscribe(caught);
        var states = new List<CellState>();
        using var s = cell.State.Subscribe(state => { lock (states) { states.Add(state); } });
        var firstTransmitter = cell.TransmitterId;

        await first.KillAsync(Ct);
        using var second = await first.StartAgainAsync(Ct, "--heartbeat-ms", "250", "--liveness-ms", "1500");

        await Eventually.That("the cell is welcomed by the new transmitter", () => cell.CurrentState == CellState.Connected && cell.TransmitterId != firstTransmitter, TimeSpan.FromSeconds(20), Ct);
        await using var publisher = await Cells.ConnectAsync(second.CommandEndpoint, "publisher", o => o, Ct);
        var result = await publisher.PublishAsync(channel, "after the restart", cancellationToken: Ct);

        Assert.AreEqual(1, result.Receivers, "the subscription came back with the cell");
        await caught.WaitForAsync(1, "the rejoined cell", Ct);
        lock (states)
        {
            CollectionAssert.IsSubsetOf(new[] { CellState.Connected, CellState.Reconnecting }, states);
        }
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task CellWithManySubscriptions_RejoinsWithAllOfThem()
    {
        const int subscriptions = 1_500; // far more than fit in one HELO header
        using var first = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--heartbeat-ms", "250", "--liveness-ms", "1500"]);
        await using var cell = await Cells.ConnectAsync(first.CommandEndpoint, "collector", o => o, Ct);
        var prefix = TestIds.Next("many");
        var owned = new List<CellSubscription>();
        for (var i = 0; i < subscriptions; i++)
        {
            owned.Add(await cell.SubscribeAsync($"{prefix}.{i}.*", Catch.Multi, Ct));
        }

        var firstTransmitter = cell.TransmitterId;
        await first.KillAsync(Ct);
        using var second = await first.StartAgainAsync(Ct, "--heartbeat-ms", "250", "--liveness-ms", "1500");

        await Eventually.That("the cell re-joins", () => cell.CurrentState == CellState.Connected && cell.TransmitterId != firstTransmitter, TimeSpan.FromSeconds(30), Ct);
        await using var publisher = await Cells.ConnectAsync(second.CommandEndpoint, "publisher", o => o, Ct);
        foreach (var i in new[] { 0, subscriptions / 2, subscriptions - 1 })
        {
            // Those past the HELO's share follow as SUBS: wait until each has been applied.
            await Eventually.That($"subscription {i} is back", async () =>
                (await publisher.PublishAsync($"{prefix}.{i}.x", "x", cancellationToken: Ct)).Receivers == 1, TimeSpan.FromSeconds(30), Ct);
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ClosedStdin_WithExitWithStdin_ShutsDownCleanly()
    {
        using var transmitter = await TransmitterProcess.StartAsync(cancellationToken: Ct);

        // What the transmitter sees when its test host dies: the write end of its stdin pipe closes.
        transmitter.Process.CloseInput();

        Assert.AreEqual(0, await transmitter.Process.WaitForExitAsync(TimeSpan.FromSeconds(10), Ct), "exit code 0 once stdin closed");
        Assert.IsTrue(transmitter.Process.Lines.Any(l => l.Contains("Standard input closed", StringComparison.Ordinal)));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Help_ListsEveryFlagAndItsVariable()
    {
        using var help = TransmitterProcess.Run(null, "--help");

        Assert.AreEqual(0, await help.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
        var text = string.Join('\n', help.Lines);
        foreach (var expected in new[] { "--command", "--events", "THYNAPSE_COMMAND", "THYNAPSE_EVENTS", "--liveness-ms", "--log-format" })
        {
            Assert.Contains(expected, text);
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task EnvironmentVariables_SetTheEndpoints()
    {
        var port = Ports.Free();
        var env = new Dictionary<string, string>
        {
            ["THYNAPSE_COMMAND"] = $"tcp://127.0.0.1:{port}",
            ["THYNAPSE_EVENTS"] = $"tcp://127.0.0.1:{Ports.Free()}",
        };
        using var transmitter = TransmitterProcess.Run(env);
        await transmitter.WaitForLineAsync($"routing on tcp://127.0.0.1:{port}", cancellationToken: Ct);

        await using var cell = await Cells.ConnectAsync($"tcp://127.0.0.1:{port}", "env", o => o, Ct);
        Assert.AreEqual(CellState.Connected, cell.CurrentState);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task BusyPort_ExitsWithCodeTwo()
    {
        using var holder = await TransmitterProcess.StartAsync(cancellationToken: Ct);
        using var second = TransmitterProcess.Run(null, "--command", holder.CommandEndpoint, "--events", $"tcp://127.0.0.1:{Ports.Free()}");

        Assert.AreEqual(2, await second.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
        Assert.IsTrue(second.Lines.Any(l => l.Contains("Could not bind", StringComparison.Ordinal)));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task InvalidFlag_ExitsWithCodeOne()
    {
        using var bad = TransmitterProcess.Run(null, "--log-format", "xml");

        Assert.AreEqual(1, await bad.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
    }
}
