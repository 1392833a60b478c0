using NetMQ.Sockets;
using static Thynapse.Transmitter.Tests.Mesh.MeshTests;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The cluster secret (PROTOCOL.md §12.12): with it a mesh forms among the transmitters that hold it; one without it
/// or with another cannot join, is refused with CLUSTER_AUTHENTICATION_FAILED and listed by no one; and a plain SUB on
/// a secured transmitter's event socket reads nothing of the mesh.
/// </summary>
[TestClass]
public sealed class ClusterSecretTests : TestBase
{
    private const string Secret = "cluster-secret-of-the-mesh-0123456789";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [TestMethod]
    [Timeout(30_000)]
    public async Task WithTheClusterSecret_TheMeshForms_AndItsProbesCrossTheSecuredEventSockets()
    {
        await using var a = Transmitters.StartLoopback(Secured(Secret));
        await using var b = Transmitters.StartLoopback(o => Secured(Secret)(o) with { Peers = [a.CommandEndpoint] });
        await using var c = Transmitters.StartLoopback(o => Secured(Secret)(o) with { Peers = [b.CommandEndpoint] });

        await Eventually.That("all three see each other alive", () => SeesAlive(a, b, c) && SeesAlive(b, a, c) && SeesAlive(c, a, b), cancellationToken: Ct);
        await Eventually.That("probes answered on the event sockets", () => a.Stats.MeshProbes >= 4 && b.Stats.MeshProbes >= 4 && c.Stats.MeshProbes >= 4, cancellationToken: Ct);
        Assert.AreEqual(0L, a.Stats.MeshProbesFailed + b.Stats.MeshProbesFailed + c.Stats.MeshProbesFailed, "PONGs travel on the CURVE event sockets");
        Assert.AreEqual(0L, a.Stats.MeshAuthFailures + b.Stats.MeshAuthFailures + c.Stats.MeshAuthFailures);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task WithoutTheClusterSecret_OrWithAnother_ATransmitterCannotJoin_AndNoOneListsIt()
    {
        await using var a = Transmitters.StartLoopback(Secured(Secret));
        await using var b = Transmitters.StartLoopback(o => Secured(Secret)(o) with { Peers = [a.CommandEndpoint] });
        await using var none = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await using var wrong = Transmitters.StartLoopback(o => Secured("another-cluster-secret-9876543210")(o) with { Peers = [a.CommandEndpoint] });

        await Eventually.That("a and b see each other", () => SeesAlive(a, b) && SeesAlive(b, a), cancellationToken: Ct);
        await Eventually.That("both strangers were refused, and tried again", () => a.Stats.MeshAuthFailures >= 4 && wrong.Stats.MeshJoinAttempts >= 2 && none.Stats.MeshJoinAttempts >= 2, cancellationToken: Ct);
        Assert.IsEmpty(none.Peers, "without the secret: no one answered its JOIN with MEMB");
        Assert.IsEmpty(wrong.Peers, "with another secret: no one answered its JOIN with MEMB");
        Assert.IsTrue(a.Peers.All(p => p.Id == b.Id) && b.Peers.All(p => p.Id == a.Id), "the members never list a stranger");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task OnTheCommandSocket_EveryMeshRequest_NeedsTheProof_WhichIsAnsweredOnce_AndProvenBack()
    {
        await using var a = Transmitters.StartLoopback(Secured(Secret));
        var key = new ClusterKey(Secret);
        using var link = new DealerSocket();
        link.Options.Linger = TimeSpan.Zero;
        link.Connect(a.CommandEndpoint);
        var me = new MemberRecord(Thid.NewRandom(), 5, PeerState.Alive, "tcp://127.0.0.1:9", "tcp://127.0.0.1:10");

        link.SendFrame(new PingMessage(1, null).ToFrame());
        AssertRefused(link, "PING");
        link.SendFrame(Join(me, null));
        AssertRefused(link, "JOIN");

        // Asking for a challenge is not a failure; a wrong proof is, and the challenge is spent.
        var nonce = ClusterKey.NewNonce();
        link.SendFrame(Join(me, new JObject { ["nonce"] = nonce }));
        var challenge = (string)Answer(link, "CHAL")["challenge"]!;
        link.SendFrame(Join(me, new JObject { ["nonce"] = nonce, ["challenge"] = challenge, ["proof"] = new ClusterKey("not-the-cluster-secret-000").JoinProof(challenge, me) }));
        AssertRefused(link, "JOIN");
        link.SendFrame(Join(me, new JObject { ["nonce"] = nonce, ["challenge"] = challenge, ["proof"] = key.JoinProof(challenge, me) }));
        challenge = (string)Answer(link, "CHAL")["challenge"]!;
        Assert.AreEqual(3L, a.Stats.MeshAuthFailures, "PING, the JOIN without proof, the wrong proof");

        link.SendFrame(Join(me, new JObject { ["nonce"] = nonce, ["challenge"] = challenge, ["proof"] = key.JoinProof(challenge, me) }));
        var members = Answer(link, "MEMB");
        Assert.AreEqual(key.AnswerProof(nonce, a.Id, a.Incarnation), (string?)members["auth"]!["proof"], "the answer proves the secret over our nonce");
        Assert.AreEqual(3L, a.Stats.MeshAuthFailures);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task WrongProofs_CountAgainstTheirAddress_UntilItIsRefusedWithoutAComparison()
    {
        await using var a = Transmitters.StartLoopback(o => Secured(Secret)(o) with { MaxFailedAttempts = 6, FailedAttemptBlock = TimeSpan.FromMinutes(5) });
        var guess = new ClusterKey("a-guess-at-the-cluster-secret");
        using var link = new DealerSocket();
        link.Options.Linger = TimeSpan.Zero;
        link.Connect(a.CommandEndpoint);
        var me = new MemberRecord(Thid.NewRandom(), 5, PeerState.Alive, "tcp://127.0.0.1:9", "tcp://127.0.0.1:10");
        var nonce = ClusterKey.NewNonce();

        int Attempt(ClusterKey key)
        {
            link.SendFrame(Join(me, new JObject { ["nonce"] = nonce }));
            var challenge = (string)Answer(link, "CHAL")["challenge"]!;
            link.SendFrame(Join(me, new JObject { ["nonce"] = nonce, ["challenge"] = challenge, ["proof"] = key.JoinProof(challenge, me) }));
            return (int)Answer(link, "ERRR")["code"]!;
        }

        for (var i = 1; i <= 6; i++)
        {
            Assert.AreEqual((int)ThynapseErrorCode.ClusterAuthenticationFailed, Attempt(guess), $"guess {i}");
        }

        Assert.AreEqual((int)ThynapseErrorCode.TooManyAttempts, Attempt(new ClusterKey(Secret)), "blocked: even the right proof is not compared");
        Assert.AreEqual(1L, a.Stats.SourcesBlocked);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task APlainSubscriber_OnASecuredEventSocket_ReadsNothingOfTheMesh()
    {
        await using var a = Transmitters.StartLoopback(Secured(Secret));
        await using var b = Transmitters.StartLoopback(o => Secured(Secret)(o) with { Peers = [a.CommandEndpoint] });
        await Eventually.That("a and b see each other", () => SeesAlive(a, b) && SeesAlive(b, a), cancellationToken: Ct);

        using var plain = Subscriber(a.EventsEndpoint, null);
        using var keyed = Subscriber(a.EventsEndpoint, new ClusterKey(Secret).EventCertificate);
        for (var pulses = 0; pulses < 5; pulses++)
        {
            Assert.IsTrue(keyed.TryReceiveFrameString(Wait, out var topic), "a holder of the secret reads a's pulses");
            Assert.AreEqual("$mesh", topic);
            keyed.SkipMultipartMessage();
        }

        Assert.IsFalse(plain.TryReceiveFrameBytes(TimeSpan.FromSeconds(1), out _), "a subscriber without the derived key completes no handshake: nothing");
        using var operatorKeyed = Subscriber(a.EventsEndpoint, NetMQCertificate.CreateFromSecretKey(Convert.FromHexString(new string('1', 64))));
        Assert.IsFalse(operatorKeyed.TryReceiveFrameBytes(TimeSpan.FromSeconds(1), out _), "another server key: nothing either");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task WithCurveToo_TheMeshForms_AndTheOperatorsPublicKey_DoesNotOpenTheEventSocket()
    {
        var keys = new NetMQCertificate();
        await using var a = Transmitters.StartLoopback(o => Secured(Secret)(o) with { CurveSecretKey = keys.SecretKeyZ85 });
        await using var b = Transmitters.StartLoopback(o => Secured(Secret)(o) with { CurveSecretKey = keys.SecretKeyZ85, Peers = [a.CommandEndpoint] });
        await Eventually.That("a and b see each other", () => SeesAlive(a, b) && SeesAlive(b, a), cancellationToken: Ct);
        await Eventually.That("probes answered", () => a.Stats.MeshProbes >= 4 && b.Stats.MeshProbes >= 4, cancellationToken: Ct);
        Assert.AreEqual(0L, a.Stats.MeshProbesFailed + b.Stats.MeshProbesFailed);

        // A cell knows the operator's public key; with it, the event socket stays shut.
        using var withCellsKey = Subscriber(a.EventsEndpoint, keys);
        Assert.IsFalse(withCellsKey.TryReceiveFrameBytes(TimeSpan.FromSeconds(1), out _), "the event socket's key pair is the derived one");
    }

    private static Func<TransmitterOptions, TransmitterOptions> Secured(string secret) => o => o with { Mesh = o.Mesh with { ClusterSecret = secret } };

    private static SubscriberSocket Subscriber(string endpoint, NetMQCertificate? server)
    {
        var socket = new SubscriberSocket();
        socket.Options.Linger = TimeSpan.Zero;
        if (server is not null)
        {
            socket.Options.CurveServerKey = server.PublicKey;
            socket.Options.CurveCertificate = new NetMQCertificate();
        }

        socket.Connect(endpoint);
        socket.Subscribe("$mesh");
        return socket;
    }

    private static byte[] Join(MemberRecord me, JObject? auth) => new JoinMessage(me, []) { Auth = auth }.ToFrame();

    private static JObject Answer(DealerSocket link, string command)
    {
        var frame = link.ReceiveFrameString(Wait, command);
        Assert.StartsWith($"J {command} ", frame);
        return JObject.Parse(frame[7..]);
    }

    private static void AssertRefused(DealerSocket link, string command)
    {
        var error = Answer(link, "ERRR");
        Assert.AreEqual((int)ThynapseErrorCode.ClusterAuthenticationFailed, (int)error["code"]!, $"{command}: {error}");
        Assert.AreEqual(command, (string?)error["command"]);
    }
}
