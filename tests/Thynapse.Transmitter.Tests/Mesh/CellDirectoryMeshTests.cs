namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The replicated cell directory between in-process transmitters on loopback (PROTOCOL.md §12.8): a cell of one
/// transmitter is listed and watched on another, with the transmitter that serves it, through its joins, metadata
/// changes and leave.
/// </summary>
[TestClass]
public sealed class CellDirectoryMeshTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task CellOfA_IsListedAndWatchedOnC_WithinASecond_ThroughItsChangeAndLeave()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct);
        var (a, b, c) = (mesh.A, mesh.B, mesh.C);

        var service = TestIds.Next("replicated");
        using var asker = RawClient.Welcomed(c.CommandEndpoint, "asker");
        asker.SendJson("WTCH", new JObject { ["watch"] = 1, ["service"] = service });
        Assert.AreEqual(0, ((JArray)asker.Expect("OKAY", "OKAY for WTCH").Payload["cells"]!).Count);

        using var cell = new RawClient(a.CommandEndpoint);
        cell.Hello(service, new JObject { ["metadata"] = new JObject { ["zone"] = "a1" }, ["tags"] = new JArray("gpu") });
        var watch = Stopwatch.StartNew(); // from a's welcome, when the change exists: the handshake is not the directory's time
        var joined = asker.Expect("CELL", "CELL joined on c").Payload;
        var noticed = watch.ElapsedMilliseconds;
        Assert.AreEqual("joined", (string?)joined["change"]);
        AssertDescribes(joined["cell"]!, cell.Id, a.Id, "a1");
        var listed = List(asker, service).Single();
        TestContext.WriteLine($"a cell joined a: c's watch told of it after {noticed} ms, c listed it after {watch.ElapsedMilliseconds} ms (c lost {c.Stats.MeshMessagesLost} mesh messages, asked {c.Stats.MeshSnapshots} snapshots)");
        AssertDescribes(listed, cell.Id, a.Id, "a1");
        Assert.AreEqual("gpu", (string?)listed["tags"]![0]);
        Assert.IsTrue(noticed < 1000, $"the directory converges within a second (took {noticed} ms)");

        watch.Restart();
        cell.SendJson("META", new JObject { ["metadata"] = new JObject { ["zone"] = "a2" } });
        cell.Expect("OKAY", "OKAY for META");
        var updated = asker.Expect("CELL", "CELL updated on c").Payload;
        TestContext.WriteLine($"its metadata change reached c's watch after {watch.ElapsedMilliseconds} ms");
        Assert.AreEqual("updated", (string?)updated["change"]);
        AssertDescribes(updated["cell"]!, cell.Id, a.Id, "a2");
        AssertDescribes(List(asker, service).Single(), cell.Id, a.Id, "a2");

        watch.Restart();
        cell.Send("J GBYE {}");
        cell.Expect("GBYE");
        var left = asker.Expect("CELL", "CELL left on c").Payload;
        TestContext.WriteLine($"its leave reached c's watch after {watch.ElapsedMilliseconds} ms");
        Assert.AreEqual("left", (string?)left["change"]);
        Assert.AreEqual(0, List(asker, service).Count, "LIST after the leave");
        Assert.AreEqual(0L, c.Stats.MeshRemoteCells, "remote cells held by c");
        Assert.IsGreaterThanOrEqualTo(3L, c.Stats.MeshCellRecords + c.Stats.MeshCellRecordsStale, "the joined, updated and down records of the cell on a (one may have come first in a snapshot)");
        Assert.AreEqual(0L, a.Stats.MeshMalformed + b.Stats.MeshMalformed + c.Stats.MeshMalformed, "malformed mesh messages");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task JoiningTransmitter_GetsTheCellsThatWereThereBefore_AndLosesThemWhenTheirTransmitterLeaves()
    {
        var a = Transmitters.StartLoopback();
        await using var aOwner = a;
        var service = TestIds.Next("early");
        using var cell = new RawClient(a.CommandEndpoint);
        cell.Hello(service);

        await using var c = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        var watch = Stopwatch.StartNew();
        using var asker = RawClient.Welcomed(c.CommandEndpoint, "asker");
        await Eventually.That("c sees a", () => LoopbackMesh.SeesAlive(c, a), TimeSpan.FromSeconds(2), Ct);
        var member = watch.ElapsedMilliseconds;
        await Eventually.That("c lists the cell that was on a before it joined", () => List(asker, service).Count == 1, TimeSpan.FromSeconds(2), Ct);
        TestContext.WriteLine($"c saw a alive {member} ms after it started and listed a's earlier cell after {watch.ElapsedMilliseconds} ms");
        await Eventually.That("a has heard c for a while", () => a.Peers.Single().LastSeen > a.Peers.Single().Since + TimeSpan.FromMilliseconds(300), cancellationToken: Ct);
        await Eventually.That("c has heard a for a while", () => c.Peers.Single().LastSeen > c.Peers.Single().Since + TimeSpan.FromMilliseconds(300), cancellationToken: Ct);

        await a.StopAsync();
        await Eventually.That("c no longer lists a's cell once a left", () => List(asker, service).Count == 0, TimeSpan.FromSeconds(2), Ct);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task EightTransmitters_EveryChangeOfACell_ReachesAWatchOnEachOtherWithinASecond()
    {
        var all = new List<Transmitter> { Transmitters.StartLoopback() };
        try
        {
            for (var i = 1; i < 8; i++)
            {
                all.Add(Transmitters.StartLoopback(o => o with { Peers = [all[0].CommandEndpoint] }));
            }

            await Eventually.That("all eight see each other", () => all.All(t => t.Peers.Count(p => p.State == PeerState.Alive) == 7), TimeSpan.FromSeconds(10), Ct);
            await Eventually.That("the mesh has settled", () => LoopbackMesh.Settled([.. all]), TimeSpan.FromSeconds(10), Ct);
            var times = DirectoryChanges.Measure(all[0].CommandEndpoint, all.Skip(1).Select(t => t.CommandEndpoint), TestIds.Next("eight"));
            times.Sort();
            var p99 = times[(int)Math.Ceiling(0.99 * times.Count) - 1];
            TestContext.WriteLine($"8 transmitters, {times.Count} changes, time until the last of 7 watches heard: median {times[times.Count / 2]:0.0} ms, p99 {p99:0.0} ms, max {times[^1]:0.0} ms; {all.Sum(t => t.Stats.MeshSnapshots)} snapshots asked");
            Assert.IsLessThan(1000, p99, "directory convergence p99 within a second (issue 17)");
        }
        finally
        {
            foreach (var transmitter in all)
            {
                await transmitter.DisposeAsync();
            }
        }
    }

    private static void AssertDescribes(JToken described, Thid cell, Thid transmitter, string zone)
    {
        Assert.AreEqual(cell.ToString(), (string?)described["id"]);
        Assert.AreEqual(transmitter.ToString(), (string?)described["transmitter"], "the transmitter that serves it");
        Assert.AreEqual(zone, (string?)described["metadata"]!["zone"]);
    }

    private static List<JToken> List(RawClient asker, string service)
    {
        asker.SendJson("LIST", new JObject { ["service"] = service });
        return [.. (JArray)asker.Expect("OKAY", "OKAY for LIST").Payload["cells"]!];
    }
}
