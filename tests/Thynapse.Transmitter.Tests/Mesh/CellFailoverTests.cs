using System.Reactive.Linq;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// A cell moving between in-process transmitters of one mesh (PROTOCOL.md §12.8 "Claims", §5.19): the new transmitter
/// takes the cell's THID only with the resume token its replica holds a proof of, and the old one, seeing the newer
/// claim, ends its session; the SDK re-joins another transmitter of its list with its subscriptions.
/// </summary>
[TestClass]
public sealed class CellFailoverTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task Claim_OnAnotherTransmitter_NeedsTheResumeToken_AndTheStaleHostEndsItsSession()
    {
        await using var mesh = await LoopbackMesh.StartAsync(2, Ct);
        var (a, b) = (mesh.A, mesh.B);

        var service = TestIds.Next("mover");
        using var onA = new RawClient(a.CommandEndpoint);
        var token = (string)onA.Hello(service)["session"]!;
        using (var asker = RawClient.Welcomed(b.CommandEndpoint, "asker"))
        {
            await Eventually.That("b's replica holds the cell", () => List(asker, service).Count == 1, cancellationToken: Ct);
            var described = List(asker, service).Single();
            Assert.IsNull(described["proof"], "the proof is never shown by discovery");
            Assert.IsNull(described["claim"]);
        }

        using var thief = new RawClient(b.CommandEndpoint);
        thief.SendJson("HELO", new JObject { ["id"] = onA.Id.ToString(), ["service"] = service });
        StringAssert.Contains((string?)thief.ExpectError(ThynapseErrorCode.IdInUse)["message"], a.Id.ToString(), "without a token: refused, naming the owner");
        thief.SendJson("HELO", new JObject { ["id"] = onA.Id.ToString(), ["service"] = service, ["resume"] = "0123456789abcdef0123456789abcdef" });
        thief.ExpectError(ThynapseErrorCode.IdInUse);
        Assert.AreEqual(1L, a.Stats.Cells, "a still serves the cell");

        using var moved = new RawClient(b.CommandEndpoint);
        var welcome = moved.Hello(service, new JObject { ["id"] = onA.Id.ToString(), ["resume"] = token });
        Assert.AreEqual(b.Id.ToString(), (string?)welcome["id"]);
        Assert.AreEqual(token, (string?)welcome["session"], "the cell keeps its token on its new transmitter");

        // a hears b's newer claim and ends its own session of the cell, naming where it went.
        var goodbye = onA.Expect("GBYE", "GBYE moved from a").Payload;
        Assert.AreEqual("moved", (string?)goodbye["reason"]);
        Assert.AreEqual(b.Id.ToString(), (string?)goodbye["to"]!["id"]);
        Assert.AreEqual(b.CommandEndpoint, (string?)goodbye["to"]!["command"]);
        await Eventually.That("a no longer serves the cell", () => a.Stats.Cells == 0, cancellationToken: Ct);
        Assert.AreEqual(1L, a.Stats.CellsMovedOut);
        Assert.AreEqual(1L, b.Stats.CellsMovedIn);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task LostSession_ReJoinsAnotherTransmitterOfItsList_WithItsIdAndSubscriptions()
    {
        await using var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        var service = TestIds.Next("failover");
        var channel = TestIds.Next("moving");
        await using var cell = await Cells.ConnectAsync(a, service, Ct);
        await using var caught = await Catcher.SubscribeAsync(cell, channel, Catch.Multi, Ct);
        var notices = new List<CellNotice>();
        using var watching = cell.Notices.Subscribe(n => { lock (notices) { notices.Add(n); } });
        await Eventually.That("the cell knows b", () => cell.Transmitters.Count == 2, cancellationToken: Ct);
        using (var asker = RawClient.Welcomed(b.CommandEndpoint, "asker"))
        {
            await Eventually.That("b's replica holds the cell", () => List(asker, service).Count == 1, cancellationToken: Ct);
        }

        cell.LoseSession("the test cut it");
        await Eventually.That("the cell moved to b", () => cell.TransmitterId == b.Id && cell.CurrentState == CellState.Connected, cancellationToken: Ct);
        // The notice is told on the thread pool, after the state changed: wait for it rather than read it once.
        await Eventually.That("the cell was told it moved", () => { lock (notices) { return notices.Any(n => n.Kind == CellNoticeKind.Moved); } }, cancellationToken: Ct);
        CellNotice move;
        lock (notices)
        {
            move = notices.Single(n => n.Kind == CellNoticeKind.Moved);
        }

        Assert.AreEqual(b.Id, move.Transmitter, move.Message);
        await Eventually.That("a ended the cell's old session", () => a.Stats.Cells == 0, cancellationToken: Ct);

        await using var publisher = await Cells.ConnectAsync(b, "producer", Ct);
        var result = await publisher.PublishAsync(channel, "after the move", cancellationToken: Ct);
        Assert.AreEqual(1, result.Receivers, "the subscription came along");
        await Eventually.That("the moved cell catches on b", () => caught.Count == 1, cancellationToken: Ct);
    }

    /// <summary>
    /// A transmitter that stops gracefully (SIGTERM in the host) tells each cell a live member to move to, in turn, so its
    /// cells spread over the others (§5.9); an SDK cell moves there at once, with its subscriptions, without waiting for
    /// its liveness timeout.
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task GracefulShutdown_TellsEachCellWhereToMove_SpreadOverTheOtherMembers()
    {
        var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await using var c = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await Eventually.That("a, b and c see each other alive", () => LoopbackMesh.AllSeeAll(a, b, c), cancellationToken: Ct);

        var service = TestIds.Next("drained");
        var channel = TestIds.Next("after-drain");
        await using var cell = await Cells.ConnectAsync(a, service, Ct);
        await using var caught = await Catcher.SubscribeAsync(cell, channel, Catch.Multi, Ct);
        await Eventually.That("the cell knows all three transmitters", () => cell.Transmitters.Count == 3, cancellationToken: Ct);
        var members = $"a {a.Id}, b {b.Id}, c {c.Id}; a sees {string.Join(", ", a.Peers.Select(p => $"{p.Id} {p.State}"))}";
        TestContext.WriteLine(members);
        var raw = Enumerable.Range(0, 6).Select(_ => new RawClient(a.CommandEndpoint)).ToList();
        try
        {
            foreach (var client in raw)
            {
                client.Hello(service);
            }

            var stopped = System.Diagnostics.Stopwatch.StartNew();
            await a.DisposeAsync();
            var targets = raw.Select(client =>
            {
                var goodbye = client.Expect("GBYE", "GBYE shutdown from a").Payload;
                Assert.AreEqual("shutdown", (string?)goodbye["reason"]);
                return (string?)goodbye["to"]?["id"];
            }).ToList();
            // Other tests' transmitters may have found this mesh through a reused port: the targets are a's live
            // members, whichever they are, never a itself.
            Assert.IsTrue(targets.All(t => t is not null && t != a.Id.ToString()), $"each cell is told a live member to move to: {string.Join(", ", targets)} ({members})");
            CollectionAssert.IsSubsetOf(new[] { b.Id.ToString(), c.Id.ToString() }, targets, "b and c both take some");

            await Eventually.That("the SDK cell moved", () => cell.CurrentState == CellState.Connected && cell.TransmitterId != a.Id, cancellationToken: Ct);
            TestContext.WriteLine($"the cell was serving again {stopped.ElapsedMilliseconds} ms after the stop began");
            targets.Add(cell.TransmitterId.ToString()); // it went where it was told first
            var counts = targets.GroupBy(t => t).Select(g => g.Count()).ToList();
            Assert.IsLessThanOrEqualTo(1, counts.Max() - counts.Min(), $"the seven cells spread evenly: {string.Join(", ", targets)}");
            var there = cell.Transmitters.Single(t => t.Id == cell.TransmitterId).CommandEndpoint;
            await using var publisher = await Cells.ConnectAsync(there, "producer", o => o, Ct);
            var result = await publisher.PublishAsync(channel, "after the drain", cancellationToken: Ct);
            Assert.AreEqual(1, result.Receivers, "the subscription came along");
            await Eventually.That("the moved cell catches", () => caught.Count == 1, cancellationToken: Ct);
        }
        finally
        {
            raw.ForEach(r => r.Dispose());
            await a.DisposeAsync();
        }
    }

    private static List<JToken> List(RawClient asker, string service)
    {
        asker.SendJson("LIST", new JObject { ["service"] = service });
        return [.. (JArray)asker.Expect("OKAY", "OKAY for LIST").Payload["cells"]!];
    }
}
