namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The transmitters a cell is told of (PROTOCOL.md §5.2 <c>WLCM.transmitters</c>, §5.19 <c>TMTR</c>), between in-process
/// transmitters on loopback: the welcoming one first, then its mesh's live members; every change is pushed.
/// </summary>
[TestClass]
public sealed class TransmitterListTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task Welcome_ListsTheLiveMembers_AndTmtrTellsOfAJoinAndALeave()
    {
        await using var mesh = await LoopbackMesh.StartAsync(2, Ct);
        var (a, b) = (mesh.A, mesh.B);

        using var raw = new RawClient(a.CommandEndpoint);
        var welcome = raw.Hello(TestIds.Next("listed"));
        AssertLists(welcome, a, b);

        var c = Transmitters.StartLoopback(o => o with { Peers = [b.CommandEndpoint] });
        await using (c)
        {
            AssertLists(raw.Expect("TMTR", "TMTR naming c").Payload, a, b, c);
            await Eventually.That("c sees a and b", () => LoopbackMesh.SeesAlive(c, a, b), cancellationToken: Ct);
        }

        // c left (a graceful stop broadcasts its leave): a says so without waiting for the failure detector.
        AssertLists(raw.Expect("TMTR", "TMTR without c").Payload, a, b);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Cell_KeepsTheListItWasTold()
    {
        await using var a = Transmitters.StartLoopback();
        await using var cell = await Cells.ConnectAsync(a, TestIds.Next("keeper"), Ct);
        CollectionAssert.AreEqual(new[] { a.Id }, cell.Transmitters.Select(t => t.Id).ToArray(), "alone: the welcome lists a only");
        Assert.AreEqual(a.CommandEndpoint, cell.Transmitters[0].CommandEndpoint);

        var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await using (b)
        {
            await Eventually.That("the cell is told of b", () => cell.Transmitters.Count == 2, cancellationToken: Ct);
            var listed = cell.Transmitters[1];
            Assert.AreEqual(b.Id, listed.Id);
            Assert.AreEqual(b.CommandEndpoint, listed.CommandEndpoint);
            Assert.AreEqual(b.EventsEndpoint, listed.Pub);
        }

        await Eventually.That("the cell is told b left", () => cell.Transmitters.Count == 1, cancellationToken: Ct);
        Assert.AreEqual(a.Id, cell.Transmitters[0].Id);
    }

    /// <summary>The list names <paramref name="first"/> first, then exactly <paramref name="others"/>, with their endpoints.</summary>
    private static void AssertLists(JObject message, Transmitter first, params Transmitter[] others)
    {
        var listed = ((JArray)message["transmitters"]!).Cast<JObject>().ToList();
        Assert.AreEqual(first.Id.ToString(), (string?)listed[0]["id"], $"the sender first: {message}");
        var expected = others.Prepend(first).ToDictionary(t => t.Id.ToString());
        Assert.HasCount(expected.Count, listed, $"{message}");
        foreach (var entry in listed)
        {
            Assert.IsTrue(expected.TryGetValue((string)entry["id"]!, out var transmitter), $"an unexpected transmitter in {message}");
            Assert.AreEqual(transmitter.CommandEndpoint, (string?)entry["command"]);
            Assert.AreEqual(transmitter.EventsEndpoint, (string?)entry["pub"]);
        }
    }
}
