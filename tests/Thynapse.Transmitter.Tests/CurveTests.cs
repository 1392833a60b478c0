namespace Thynapse.Transmitter.Tests;

/// <summary>
/// With a CURVE secret key both sockets require CURVE (PROTOCOL.md §1): a cell with the transmitter's public key joins
/// and routes, encrypted; a plain-text client is never answered; transmitters sharing the key pair still mesh.
/// </summary>
[TestClass]
public sealed class CurveTests : TestBase
{
    private static readonly NetMQCertificate Keys = new();
    private static Transmitter _transmitter = null!;

    [ClassInitialize]
    public static void Start(TestContext _) => _transmitter = Transmitters.StartLoopback(o => o with { CurveSecretKey = Keys.SecretKeyZ85 });

    [ClassCleanup]
    public static async Task Stop() => await _transmitter.DisposeAsync();

    [TestMethod]
    [Timeout(20_000)]
    public async Task CellsWithThePublicKey_JoinAndRoute_APlainClientIsNeverAnswered()
    {
        var joined = _transmitter.Stats.CellsJoined;

        // First the plain client: its HELO goes nowhere (the transport never completes the handshake).
        using var plain = new RawClient(_transmitter.CommandEndpoint);
        plain.SendJson("HELO", new JObject { ["id"] = plain.Id.ToString(), ["service"] = "plain" });

        var channel = TestIds.Next("curve.events");
        await using var subscriber = await Cells.ConnectAsync(_transmitter, "curve-sub", o => o with { TransmitterPublicKey = Keys.PublicKeyZ85 }, Ct);
        var own = new NetMQCertificate();
        await using var publisher = await Cells.ConnectAsync(_transmitter, "curve-pub", o => o with
        {
            TransmitterPublicKey = Keys.PublicKeyZ85,
            CurvePublicKey = own.PublicKeyZ85,
            CurveSecretKey = own.SecretKeyZ85,
        }, Ct);
        await using var got = await Catcher.SubscribeAsync(subscriber, channel, Catch.Multi, Ct);
        await publisher.PublishAsync(channel, "sealed"u8.ToArray(), cancellationToken: Ct);
        await got.WaitForAsync(1, "the CURVE subscriber", Ct);

        // The two CURVE cells joined after the plain HELO was sent, and it made no session; nor did it get any answer.
        Assert.AreEqual(joined + 2, _transmitter.Stats.CellsJoined);
        Assert.IsFalse(plain.TryReceive(TimeSpan.FromMilliseconds(200), out var answer), $"the plain client was answered: {answer.Count} frames");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task CellWithoutTheKey_TimesOutConnecting()
    {
        await Assert.ThrowsExactlyAsync<ThynapseTimeoutException>(() =>
            Cells.ConnectAsync(_transmitter, "curve-none", o => o with { ConnectTimeout = TimeSpan.FromSeconds(1) }, Ct));
        await Assert.ThrowsExactlyAsync<ThynapseTimeoutException>(() =>
            Cells.ConnectAsync(_transmitter, "curve-wrong", o => o with { ConnectTimeout = TimeSpan.FromSeconds(1), TransmitterPublicKey = new NetMQCertificate().PublicKeyZ85 }, Ct));
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task TransmittersSharingTheKeyPair_Mesh()
    {
        await using var peer = Transmitters.StartLoopback(o => o with { CurveSecretKey = Keys.SecretKeyZ85, Peers = [_transmitter.CommandEndpoint] });

        await Eventually.That("the CURVE peers see each other alive", () =>
            peer.Peers.Any(p => p.Id == _transmitter.Id && p.State == PeerState.Alive)
            && _transmitter.Peers.Any(p => p.Id == peer.Id && p.State == PeerState.Alive), cancellationToken: Ct);
    }

    [TestMethod]
    public void Options_ABadKey_IsRefusedNamingTheSettingAndKeygen()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>((TransmitterOptions.Default with { CurveSecretKey = "not-a-key" }).Validate);
        Assert.AreEqual(nameof(TransmitterOptions.CurveSecretKey), ex.ParamName);
        StringAssert.Contains(ex.Message, "thynapse-transmitter keygen");
    }
}
