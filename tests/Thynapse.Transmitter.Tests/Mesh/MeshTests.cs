using Thynapse.ProcessKit;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// In-process transmitters on loopback sockets meshing for real (PROTOCOL.md §12): joining through a chain of seeds,
/// the view they expose, a graceful leave, and what a cell or a stranger that speaks the mesh's commands is told.
/// </summary>
[TestClass]
public sealed class MeshTests : TestBase
{
    [TestMethod]
    [Timeout(20_000)]
    public async Task ThreeTransmitters_CKnowsOnlyBAndBOnlyA_AllSeeAllWithinASecond()
    {
        await using var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        var watch = Stopwatch.StartNew();
        await using var c = Transmitters.StartLoopback(o => o with { Peers = [b.CommandEndpoint] });

        await Eventually.That("all three see each other alive", () => LoopbackMesh.SeesAlive(a, b, c) && LoopbackMesh.SeesAlive(b, a, c) && LoopbackMesh.SeesAlive(c, a, b),
            TimeSpan.FromSeconds(1), Ct);
        TestContext.WriteLine($"c joined through b and all three saw all after {watch.ElapsedMilliseconds} ms");

        var seen = c.Peers.Single(p => p.Id == a.Id);
        Assert.AreEqual(a.CommandEndpoint, seen.CommandEndpoint, "c learned a's endpoints from b");
        Assert.AreEqual(a.EventsEndpoint, seen.EventsEndpoint);
        Assert.AreEqual(a.Incarnation, seen.Incarnation);
        await Eventually.That("c heard from a directly", () => c.Peers.Single(p => p.Id == a.Id).LastSeen is not null, cancellationToken: Ct);
        Assert.AreEqual(2L, c.Stats.PeersAlive);
        Assert.AreEqual(0L, a.Stats.PeerDeaths + b.Stats.PeerDeaths + c.Stats.PeerDeaths);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Peers_KeepProbingAndPulsing_AndNothingIsLost()
    {
        await using var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await Eventually.That("a and b see each other", () => LoopbackMesh.SeesAlive(a, b) && LoopbackMesh.SeesAlive(b, a), cancellationToken: Ct);

        await Eventually.That("a few probes answered", () => a.Stats.MeshProbes >= 4 && b.Stats.MeshProbes >= 4, cancellationToken: Ct);
        var lastSeen = a.Peers.Single().LastSeen!.Value;
        await Eventually.That("a keeps hearing b", () => a.Peers.Single().LastSeen > lastSeen, cancellationToken: Ct);

        Assert.AreEqual(0L, a.Stats.MeshProbesFailed + b.Stats.MeshProbesFailed, "every probe on loopback was answered");
        Assert.AreEqual(0L, a.Stats.MeshMessagesLost + b.Stats.MeshMessagesLost, "no stream lost a message");
        Assert.AreEqual(0L, a.Stats.MeshMalformed + b.Stats.MeshMalformed);
        Assert.AreEqual(0, a.Stats.MeshHealth);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task GracefulStop_IsAnnouncedAsALeave_NotDetectedAsADeath()
    {
        await using var a = Transmitters.StartLoopback();
        var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await Eventually.That("a sees b", () => LoopbackMesh.SeesAlive(a, b), cancellationToken: Ct);

        // A leave travels on b's event socket: a's subscription must have reached it (a broadcast sent in the first
        // milliseconds after a linked b would be dropped by PUB, and b's departure detected as a death instead).
        var joined = a.Peers.Single().Since;
        await Eventually.That("a has heard b for a while", () => a.Peers.Single().LastSeen > joined + TimeSpan.FromMilliseconds(300), cancellationToken: Ct);

        var watch = Stopwatch.StartNew();
        await b.StopAsync();

        await Eventually.That("a holds b as left", () => a.Peers.Single().State == PeerState.Left, TimeSpan.FromSeconds(1), Ct);
        TestContext.WriteLine($"a saw b leave {watch.ElapsedMilliseconds} ms after its stop began");
        Assert.AreEqual(0L, a.Stats.PeerSuspicions, "a leave is not a failure");
        Assert.AreEqual(1L, a.Stats.PeerLeaves);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SeedThatIsNotUpYet_IsJoinedWhenItComes()
    {
        var port = Ports.Free();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [$"tcp://127.0.0.1:{port}"] });
        await Eventually.That("b tried its seed and failed", () => b.Stats.MeshJoinFailures >= 1, cancellationToken: Ct);

        await using var a = Transmitters.StartLoopback(o => o with { CommandEndpoint = $"tcp://127.0.0.1:{port}" });
        await Eventually.That("b joined a once it was up", () => LoopbackMesh.SeesAlive(b, a) && LoopbackMesh.SeesAlive(a, b), cancellationToken: Ct);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task SeedGivenByName_ResolvesAndJoins()
    {
        await using var a = Transmitters.StartLoopback();
        var port = a.CommandEndpoint[(a.CommandEndpoint.LastIndexOf(':') + 1)..];
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [$"tcp://localhost:{port}"] });

        await Eventually.That("b joined a through 'localhost'", () => LoopbackMesh.SeesAlive(b, a) && LoopbackMesh.SeesAlive(a, b), cancellationToken: Ct);
        Assert.AreEqual(1, b.Peers.Count, "localhost's IPv6 address, if any, is not a second seed of the same transmitter");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task CellOnlyTransmitter_HasNoPeersAndSendsNothingToAMesh()
    {
        await using var alone = Transmitters.StartLoopback();
        using var cell = new RawClient(alone.CommandEndpoint);
        cell.Hello(TestIds.Next("alone"));
        cell.Send("J BEAT");
        cell.Expect("BEAT");
        await Task.Delay(300, Ct); // allowed: several mesh ticks' worth, had there been a mesh timer

        Assert.IsEmpty(alone.Peers);
        Assert.AreEqual(0L, alone.Stats.MeshMessagesSent, "no pulse, no probe, nothing: the mesh is idle without peers");
        Assert.AreEqual(0L, alone.Stats.MeshProbes);
    }

    [TestMethod]
    [Timeout(20_000)]
    [DataRow("JOIN")]
    [DataRow("PING")]
    [DataRow("PREQ")]
    [DataRow("PONG")]
    [DataRow("PULS")]
    public async Task MeshCommand_FromACell_IsRefusedAsUnknownCommand_AndTheSessionGoesOn(string command)
    {
        await using var transmitter = Transmitters.StartLoopback();
        using var cell = new RawClient(transmitter.CommandEndpoint);
        cell.Hello(TestIds.Next("curious"));

        cell.SendJson(command, new JObject { ["nonce"] = 1, ["ref"] = 7 });
        var error = cell.ExpectError(ThynapseErrorCode.UnknownCommand);

        Assert.AreEqual(command, (string?)error["command"]);
        Assert.AreEqual($"{command} is a transmitter mesh command (PROTOCOL.md §12); a cell cannot send it", (string?)error["message"]);
        cell.Send("J BEAT");
        cell.Expect("BEAT", "the session still answers");
        Assert.IsEmpty(transmitter.Peers, "a cell never becomes a peer");
    }

    [TestMethod]
    public async Task MeshRequest_BeforeJoin_IsRefusedNamingJoin()
    {
        await using var transmitter = Transmitters.StartLoopback();
        using var stranger = new RawClient(transmitter.CommandEndpoint);

        stranger.SendJson("PING", new JObject { ["nonce"] = 1 });
        var error = stranger.ExpectError(ThynapseErrorCode.UnknownCommand);

        Assert.AreEqual("PING is a transmitter mesh command (PROTOCOL.md §12): a transmitter sends JOIN first on its connection, and a cell cannot send it",
            (string?)error["message"]);
        stranger.Hello(TestIds.Next("late"));  // the connection is still usable, here by a cell
    }

    [TestMethod]
    [DataRow("{\"mesh\":1,\"id\":\"nope\",\"incarnation\":5,\"command\":\"tcp://127.0.0.1:1\",\"pub\":\"tcp://127.0.0.1:2\"}", 105, "field 'id' must be a THID: 40 hexadecimal characters")]
    [DataRow("{\"mesh\":1,\"id\":\"ID\",\"incarnation\":0,\"command\":\"tcp://127.0.0.1:1\",\"pub\":\"tcp://127.0.0.1:2\"}", 105, "field 'incarnation' must be from 1 to 2^63-1")]
    [DataRow("{\"mesh\":1,\"id\":\"ID\",\"incarnation\":5,\"command\":\"127.0.0.1:1\",\"pub\":\"tcp://127.0.0.1:2\"}", 105, "field 'command': expected tcp://host:port, got '127.0.0.1:1'. Did you mean tcp://127.0.0.1:1?")]
    [DataRow("{\"mesh\":1,\"id\":\"ID\",\"incarnation\":5,\"command\":\"tcp://127.0.0.1:1\"}", 105, "field 'pub' is required")]
    [DataRow("{\"mesh\":2,\"id\":\"ID\",\"incarnation\":5,\"command\":\"tcp://127.0.0.1:1\",\"pub\":\"tcp://127.0.0.1:2\"}", 108, "this transmitter speaks mesh protocol 1, not 2")]
    [DataRow("{\"mesh\":1,\"id\":\"ID\",\"incarnation\":5,\"command\":\"tcp://127.0.0.1:1\",\"pub\":\"tcp://127.0.0.1:2\",\"members\":[{\"id\":\"ID\"}]}", 105, "members[0]: field 'incarnation' is required")]
    public async Task Join_Malformed_IsRefusedNamingTheField_AndMakesNoPeer(string payload, int code, string message)
    {
        await using var transmitter = Transmitters.StartLoopback();
        using var stranger = new RawClient(transmitter.CommandEndpoint);

        stranger.Send("J JOIN " + payload.Replace("\"ID\"", $"\"{Thid.NewRandom()}\"", StringComparison.Ordinal));
        var error = stranger.ExpectError((ThynapseErrorCode)code);

        Assert.AreEqual(message, (string?)error["message"]);
        Assert.AreEqual("JOIN", (string?)error["command"]);
        Assert.IsEmpty(transmitter.Peers);
    }

    [TestMethod]
    public async Task Join_WithThisTransmittersOwnThidAtAnotherIncarnation_IsRefusedAsIdInUse()
    {
        await using var transmitter = Transmitters.StartLoopback();
        using var impostor = new RawClient(transmitter.CommandEndpoint);

        impostor.SendJson("JOIN", new JObject
        {
            ["mesh"] = 1, ["id"] = transmitter.Id.ToString(), ["incarnation"] = transmitter.Incarnation + 1,
            ["command"] = "tcp://127.0.0.1:1", ["pub"] = "tcp://127.0.0.1:2",
        });
        var error = impostor.ExpectError(ThynapseErrorCode.IdInUse);

        StringAssert.Contains((string?)error["message"], "two transmitters must not share a THID");
    }

    [TestMethod]
    public async Task Join_FromAStranger_IsAnsweredWithTheMembershipAndItsBroadcastPosition()
    {
        await using var transmitter = Transmitters.StartLoopback();
        using var peer = new RawClient(transmitter.CommandEndpoint);
        var id = Thid.NewRandom();

        peer.SendJson("JOIN", new JObject
        {
            ["mesh"] = 1, ["id"] = id.ToString(), ["incarnation"] = 42, ["command"] = "tcp://127.0.0.1:1", ["pub"] = "tcp://127.0.0.1:2", ["members"] = new JArray(),
        });
        var (command, answer, _) = peer.ReceiveJson("MEMB");

        Assert.AreEqual("MEMB", command);
        Assert.AreEqual(transmitter.Id.ToString(), (string?)answer["id"]);
        Assert.AreEqual(transmitter.Incarnation, (long)answer["incarnation"]!);
        Assert.IsNotNull(answer["seq"]);
        var members = (JArray)answer["members"]!;
        Assert.AreEqual(transmitter.Id.ToString(), (string?)members[0]["id"], "the answer lists the transmitter itself first");
        Assert.AreEqual("alive", (string?)members[0]["state"]);
        Assert.AreEqual(id.ToString(), (string?)members[1]["id"], "and the joiner, now a member");

        peer.SendJson("PING", new JObject { ["nonce"] = 9 });
        await Eventually.That("the joiner is a peer", () => transmitter.Peers.Count == 1, cancellationToken: Ct);
        Assert.AreEqual(42L, transmitter.Peers[0].Incarnation);
    }

    [TestMethod]
    public void Start_PeerThatIsNotAnEndpoint_ThrowsNamingPeersAndTheEntry()
    {
        var options = Transmitters.LoopbackOptions with { Peers = ["tcp://10.0.0.1:4710", "10.0.0.2"] };

        var ex = Assert.ThrowsExactly<ArgumentException>(() => Transmitter.Start(options));

        Assert.AreEqual(nameof(TransmitterOptions.Peers), ex.ParamName);
        Assert.AreEqual("Peers (entry 2): expected tcp://host:port, got '10.0.0.2'. Did you mean tcp://10.0.0.2:4710? A peer is another transmitter's command endpoint. (Parameter 'Peers')", ex.Message);
    }

    [TestMethod]
    public void Start_ProbeTimeoutNotBelowTheInterval_ThrowsNamingBoth()
    {
        var options = Transmitters.LoopbackOptions with { Mesh = Thynapse.Transmitter.Mesh.MeshOptions.Default with { ProbeTimeout = TimeSpan.FromMilliseconds(600) } };

        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Transmitter.Start(options));

        Assert.AreEqual(nameof(TransmitterOptions.Mesh), ex.ParamName);
        Assert.AreEqual("Mesh.ProbeTimeout must be greater than 0 ms and less than Mesh.ProbeInterval (500 ms); got 600 ms. (Parameter 'Mesh')", ex.Message);
    }

    internal static bool SeesAlive(Transmitter viewer, params Transmitter[] others) =>
        others.All(o => viewer.Peers.Any(p => p.Id == o.Id && p.State == PeerState.Alive && p.Incarnation == o.Incarnation));
}
