namespace Thynapse.Transmitter.Tests;

/// <summary>
/// With an allow-list of cell CURVE keys (PROTOCOL.md §5.1): a cell with a listed key pair proves it in <c>HELO.key</c> and
/// joins; an unlisted key, no proof, or a forged one is refused with <c>KEY_NOT_ALLOWED</c>, counted, and counted as a
/// failed attempt.
/// </summary>
[TestClass]
public sealed class AllowedKeysTests : TestBase
{
    private static readonly NetMQCertificate Server = new();
    private static readonly NetMQCertificate Listed = new();
    private static Transmitter _transmitter = null!;

    [ClassInitialize]
    public static void Start(TestContext _) => _transmitter = Transmitters.StartLoopback(Allowing);

    [ClassCleanup]
    public static async Task Stop() => await _transmitter.DisposeAsync();

    [TestMethod]
    [Timeout(20_000)]
    public async Task Cell_WithAListedKey_JoinsAndRoutes()
    {
        await using var cell = await Cells.ConnectAsync(_transmitter, "keys-listed", WithKeys(Listed), Ct);
        var channel = TestIds.Next("keys.events");
        await using var got = await Catcher.SubscribeAsync(cell, channel, Catch.Multi, Ct);
        await cell.PublishAsync(channel, "allowed"u8.ToArray(), cancellationToken: Ct);
        await got.WaitForAsync(1, "the listed cell's own event", Ct);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task Cell_WithAnUnlistedKey_IsRefusedWithKeyNotAllowed()
    {
        var refusedBefore = _transmitter.Stats.KeysRefused;
        var refused = await Assert.ThrowsExactlyAsync<ThynapseRejectedException>(() =>
            Cells.ConnectAsync(_transmitter, "keys-unlisted", WithKeys(new NetMQCertificate()), Ct));

        Assert.AreEqual(ThynapseErrorCode.KeyNotAllowed, refused.Code);
        Assert.Contains("not in this transmitter's allowed keys", refused.Message);
        Assert.AreEqual(refusedBefore + 1, _transmitter.Stats.KeysRefused);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void RawCurveClient_WithoutAProof_IsRefusedAndGetsNoSession()
    {
        using var client = new RawClient(_transmitter.CommandEndpoint, curveServerKey: Server.PublicKeyZ85);
        client.SendJson("HELO", new JObject { ["id"] = client.Id.ToString(), ["service"] = "keys-raw" });
        var error = client.ExpectError(ThynapseErrorCode.KeyNotAllowed);
        Assert.Contains("--allowed-keys-file", error.Value<string>("message")!);

        client.SendJson("LIST", new JObject());
        client.ExpectError(ThynapseErrorCode.NotWelcomed);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void RawCurveClient_WithAForgedProof_IsRefused_AMalformedOneIsAnInvalidField()
    {
        using var client = new RawClient(_transmitter.CommandEndpoint, curveServerKey: Server.PublicKeyZ85);

        // The listed public key, but sealed with another secret key: the box does not open.
        var other = new NetMQCertificate();
        var forged = KeyProof.Create(other.SecretKeyZ85!, other.PublicKeyZ85, Server.PublicKeyZ85, client.Id) with { Public = Listed.PublicKeyZ85 };
        client.SendJson("HELO", Hello(client, forged));
        Assert.Contains("does not open", client.ExpectError(ThynapseErrorCode.KeyNotAllowed).Value<string>("message")!);

        // A listed key's genuine proof, made for another THID.
        var elsewhere = KeyProof.Create(Listed.SecretKeyZ85!, Listed.PublicKeyZ85, Server.PublicKeyZ85, Thid.NewRandom());
        client.SendJson("HELO", Hello(client, elsewhere));
        client.ExpectError(ThynapseErrorCode.KeyNotAllowed);

        var hello = Hello(client, elsewhere);
        hello["key"]!["nonce"] = "00";
        client.SendJson("HELO", hello);
        Assert.Contains("field 'key'", client.ExpectError(ThynapseErrorCode.InvalidField).Value<string>("message")!);

        // The same connection, with the genuine proof for its own id, is welcomed.
        client.SendJson("HELO", Hello(client, KeyProof.Create(Listed.SecretKeyZ85!, Listed.PublicKeyZ85, Server.PublicKeyZ85, client.Id)));
        client.Expect("WLCM");
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task RefusedKeys_CountAsFailedAttempts()
    {
        await using var strict = Transmitters.StartLoopback(o => Allowing(o) with { MaxFailedAttempts = 6 });
        using var client = new RawClient(strict.CommandEndpoint, curveServerKey: Server.PublicKeyZ85);
        for (var i = 0; i < 6; i++)
        {
            client.SendJson("HELO", new JObject { ["id"] = client.Id.ToString(), ["service"] = "keys-guess" });
            client.ExpectError(ThynapseErrorCode.KeyNotAllowed);
        }

        client.SendJson("HELO", new JObject { ["id"] = client.Id.ToString(), ["service"] = "keys-guess" });
        client.ExpectError(ThynapseErrorCode.TooManyAttempts);
        Assert.AreEqual(6, strict.Stats.KeysRefused);
        Assert.AreEqual(1, strict.Stats.SourcesBlocked);
    }

    [TestMethod]
    public void Options_AnAllowListWithoutCurve_IsRefusedNamingBoth()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>((TransmitterOptions.Default with { AllowedCellKeys = [Listed.PublicKeyZ85] }).Validate);
        Assert.AreEqual(nameof(TransmitterOptions.AllowedCellKeys), ex.ParamName);
        StringAssert.Contains(ex.Message, nameof(TransmitterOptions.CurveSecretKey));
    }

    private static TransmitterOptions Allowing(TransmitterOptions options) =>
        options with { CurveSecretKey = Server.SecretKeyZ85, AllowedCellKeys = [Listed.PublicKeyZ85] };

    private static Func<CellOptions, CellOptions> WithKeys(NetMQCertificate own) => o => o with
    {
        TransmitterPublicKey = Server.PublicKeyZ85,
        CurvePublicKey = own.PublicKeyZ85,
        CurveSecretKey = own.SecretKeyZ85,
    };

    private static JObject Hello(RawClient client, KeyProof proof) => new()
    {
        ["id"] = client.Id.ToString(),
        ["service"] = "keys-raw",
        ["key"] = new JObject
        {
            ["public"] = proof.Public,
            ["nonce"] = Convert.ToHexStringLower(proof.Nonce),
            ["box"] = Convert.ToHexStringLower(proof.Box),
        },
    };
}
