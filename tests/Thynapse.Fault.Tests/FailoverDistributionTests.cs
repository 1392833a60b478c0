namespace Thynapse.Fault.Tests;

/// <summary>
/// The distribution of failover times over repeated SIGKILLs (issue 17: p99 within 3 s over at least 20 kills): each
/// round starts a transmitter process in the mesh of two in-process ones, connects cells to it, kills it with SIGKILL,
/// and times each cell until it is welcomed by another transmitter. The suite runs 3 rounds;
/// <c>bench/tools/failover-kills.sh</c> runs as many as it is given (THYNAPSE_FAILOVER_KILLS).
/// </summary>
[TestClass]
public sealed class FailoverDistributionTests : TestBase
{
    private const int CellsPerRound = 5;

    [TestMethod]
    [Timeout(1_800_000)]
    public async Task Kill9Repeatedly_EveryCellServesAgainThroughAnotherTransmitter_P99WithinThreeSeconds()
    {
        var kills = int.TryParse(Environment.GetEnvironmentVariable("THYNAPSE_FAILOVER_KILLS"), out var k) && k > 0 ? k : 3;
        await using var b = Transmitters.StartLoopback();
        await using var c = Transmitters.StartLoopback(o => o with { Peers = [b.CommandEndpoint] });
        var times = new List<double>();
        for (var round = 0; round < kills; round++)
        {
            using var victim = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", b.CommandEndpoint]);
            var cells = new List<Cell.Cell>();
            try
            {
                for (var i = 0; i < CellsPerRound; i++)
                {
                    cells.Add(await Cells.ConnectAsync(victim.CommandEndpoint, TestIds.Next("mover"), o => o, Ct));
                }

                var victimId = cells[0].TransmitterId;
                await Eventually.That("the cells know all three transmitters", () => cells.All(x => x.Transmitters.Count == 3), TimeSpan.FromSeconds(20), Ct);
                await Eventually.That("b and c hold the victim's cells", () => Held(b, cells) && Held(c, cells), TimeSpan.FromSeconds(20), Ct);

                var watch = Stopwatch.StartNew();
                victim.Process.Signal(ChildProcess.SigKill);
                var served = cells.Select(async cell =>
                {
                    await Eventually.That("the cell serves again through another transmitter",
                        () => cell.CurrentState == CellState.Connected && cell.TransmitterId != victimId, TimeSpan.FromSeconds(30), Ct);
                    return watch.Elapsed.TotalMilliseconds;
                });
                var roundTimes = await Task.WhenAll(served);
                times.AddRange(roundTimes);
                TestContext.WriteLine($"kill {round + 1}: cells served again after {string.Join(", ", roundTimes.Select(t => $"{t:0}"))} ms");
            }
            finally
            {
                foreach (var cell in cells)
                {
                    await cell.DisposeAsync();
                }
            }
        }

        times.Sort();
        double At(double q) => times[Math.Min(times.Count - 1, (int)Math.Ceiling(q * times.Count) - 1)];
        TestContext.WriteLine($"{kills} kills, {times.Count} cells: p50 {At(0.5):0} ms, p90 {At(0.9):0} ms, p99 {At(0.99):0} ms, max {times[^1]:0} ms");
        Assert.IsLessThan(3000, At(0.99), "cells serve again through another transmitter within 3 s at the 99th percentile");
    }

    /// <summary>True when <paramref name="transmitter"/>'s replica lists every one of <paramref name="cells"/>.</summary>
    private static bool Held(Thynapse.Transmitter.Transmitter transmitter, List<Cell.Cell> cells)
    {
        using var asker = RawClient.Welcomed(transmitter.CommandEndpoint, "asker");
        asker.SendJson("LIST", new Newtonsoft.Json.Linq.JObject());
        var listed = ((Newtonsoft.Json.Linq.JArray)asker.Expect("OKAY", "OKAY for LIST").Payload["cells"]!).Select(x => (string?)x["id"]).ToHashSet();
        return cells.All(x => listed.Contains(x.Id.ToString()));
    }
}
