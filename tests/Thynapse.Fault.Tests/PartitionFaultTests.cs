namespace Thynapse.Fault.Tests;

/// <summary>
/// Real network partitions (issue 17, item 10): five <c>thynapse-transmitter</c> processes, each in its own network
/// namespace (<see cref="NetworkLab"/>), three on one side of a link and two on the other, with a cell on each. The
/// link goes down: each side keeps serving the cells it can see and its directory drops the other side's cells once
/// it declares their transmitters dead (available, not consistent). The link comes back: the two sides find each
/// other again (the dead are retried forever) and every transmitter lists every cell exactly once.
/// </summary>
[TestClass]
public sealed class PartitionFaultTests : TestBase
{
    [TestMethod]
    [Timeout(180_000)]
    public async Task ThreeTwoPartition_EachSideServesItsOwn_AndOneViewAfterTheHeal()
    {
        if (NetworkLab.Unavailable() is { } reason)
        {
            Assert.Inconclusive($"This test cuts a real network and needs network namespaces: {reason}.");
        }

        using var lab = NetworkLab.Create(3, 2);
        var seed = lab.Nodes[0];
        var transmitters = new List<TransmitterProcess>();
        var cells = new List<Thynapse.Cell.Cell>();
        var passed = false;
        try
        {
            transmitters.Add(await TransmitterProcess.StartInAsync(seed, Ct));
            transmitters.AddRange(await Task.WhenAll(lab.Nodes.Skip(1).Select(n => TransmitterProcess.StartInAsync(n, Ct, "--peer", TransmitterProcess.MeshEndpoint(seed)))));
            foreach (var (node, transmitter) in lab.Nodes.Zip(transmitters))
            {
                cells.Add(await Cells.ConnectAsync(transmitter.CommandEndpoint, $"side{node.Side}", o => o, Ct));
            }

            var all = cells.Select(c => c.Id).ToHashSet();
            var watch = Stopwatch.StartNew();
            await Eventually.That("every transmitter lists all five cells, once each", () => EachSees(cells, _ => all), TimeSpan.FromSeconds(20), Ct);
            TestContext.WriteLine($"joined: every transmitter lists all 5 cells {watch.ElapsedMilliseconds} ms after the last cell connected");

            // Each side's own traffic, before the cut: the baseline the cut must not take away.
            await AssertServes(cells, lab, Ct);

            // Declaring the far side dead takes longer than a kill -9 (4 s): every probe across the cut fails, and so
            // does every indirect probe through the far side, which Lifeguard reads as this transmitter being
            // unhealthy itself and answers by widening its suspicion window; 8 to 14 s measured here, hence the bound.
            lab.Partition();
            watch.Restart();
            var sides = lab.Nodes.Zip(cells).ToLookup(p => p.First.Side, p => p.Second.Id);
            await Eventually.That("each side lists only its own side's cells", () => EachSees(cells, i => sides[lab.Nodes[i].Side].ToHashSet()), TimeSpan.FromSeconds(30), Ct);
            TestContext.WriteLine($"partitioned: each side lists only its own cells {watch.ElapsedMilliseconds} ms after the cut (the other side's transmitters declared dead, their cells dropped)");
            await AssertServes(cells, lab, Ct);

            lab.Heal();
            watch.Restart();
            await Eventually.That("after the heal every transmitter lists all five cells, once each", () => EachSees(cells, _ => all), TimeSpan.FromSeconds(10), Ct);
            TestContext.WriteLine($"healed: one merged view {watch.ElapsedMilliseconds} ms after the link came back");
            await AssertServes(cells, lab, Ct);
            passed = true;
        }
        finally
        {
            foreach (var cell in cells)
            {
                await cell.DisposeAsync();
            }

            foreach (var transmitter in transmitters)
            {
                if (!passed)
                {
                    TestContext.WriteLine($"transmitter at {transmitter.Host}:\n{string.Join("\n", transmitter.Process.Lines)}");
                }

                transmitter.Dispose();
            }
        }
    }

    /// <summary>
    /// Whether the cell at each index lists exactly the cells <paramref name="expected"/> gives for it, none twice, each
    /// at the transmitter it is connected to.
    /// </summary>
    private static async Task<bool> EachSees(List<Thynapse.Cell.Cell> cells, Func<int, HashSet<Thid>> expected)
    {
        var homes = new Dictionary<Thid, Thid>();
        foreach (var cell in cells)
        {
            homes[cell.Id] = (await cell.FindCellsAsync()).Single(c => c.Id == cell.Id).Transmitter;
        }

        for (var i = 0; i < cells.Count; i++)
        {
            var listed = await cells[i].FindCellsAsync();
            if (listed.Count != expected(i).Count || !listed.Select(c => c.Id).ToHashSet().SetEquals(expected(i)) || listed.Any(c => homes[c.Id] != c.Transmitter))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Every cell's own transmitter serves it: a multicatch event it publishes to its own channel comes back to it.</summary>
    private static async Task AssertServes(List<Thynapse.Cell.Cell> cells, NetworkLab lab, CancellationToken ct)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            var channel = $"check.n{lab.Nodes[i].Index}";
            await using var subscription = await cells[i].SubscribeAsync(channel, Catch.Multi, cancellationToken: ct);
            var got = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var _ = subscription.Subscribe(_ => got.TrySetResult());
            await cells[i].PublishAsync(channel, $"{{\"n\":{i}}}", cancellationToken: ct);
            await got.Task.Within($"node {lab.Nodes[i].Index}'s cell gets its own event (lab partitioned: {lab.IsPartitioned})", TimeSpan.FromSeconds(5));
        }
    }
}
