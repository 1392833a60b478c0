namespace Thynapse.Transmitter.Tests;

/// <summary>
/// A transmitter with a secret admits only cells that present it in <c>HELO</c> (PROTOCOL.md §5.1); per-service
/// credentials admit only as the services they name. A refusal is <c>AUTHENTICATION_FAILED</c> and tells nothing else.
/// </summary>
[TestClass]
public sealed class AuthenticationTests : TestBase
{
    private const string Secret = "correct-horse-battery-staple";
    private const string BillingSecret = "billing-only-credential-0001";
    private static Transmitter _transmitter = null!;

    [ClassInitialize]
    public static void Start(TestContext _) => _transmitter = Transmitters.StartLoopback(o => o with
    {
        Secret = Secret,
        Credentials = [new CellCredential(BillingSecret, ["billing", "billing-audit"])],
        MaxFailedAttempts = 0, // every test here fails from 127.0.0.1; GuessingTests slows them
    });

    [ClassCleanup]
    public static async Task Stop() => await _transmitter.DisposeAsync();

    public static IEnumerable<object?[]> Refused =>
    [
        [null],
        ["wrong-secret-of-the-right-length"],
        [Secret + "x"],
        [Secret[..^1]],
        [""],
    ];

    [TestMethod]
    [DynamicData(nameof(Refused))]
    [Timeout(15_000)]
    public void Helo_WithoutTheSecret_IsRefusedWithAuthenticationFailedAndNothingElse(string? secret)
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);
        var hello = new JObject { ["id"] = client.Id.ToString(), ["service"] = "stranger", ["ref"] = 7 };
        if (secret is not null)
        {
            hello["secret"] = secret;
        }

        client.SendJson("HELO", hello);
        var error = client.ExpectError(ThynapseErrorCode.AuthenticationFailed);

        // The refusal names the code and the fix, and nothing about the transmitter: no id, no limits, no endpoint.
        CollectionAssert.AreEquivalent(new[] { "code", "name", "message", "command", "ref" }, error.Properties().Select(p => p.Name).ToArray(), error.ToString());
        Assert.Contains("--secret", error.Value<string>("message")!);
        // The connection has no session: everything else is NOT_WELCOMED (and LIST reveals no cell).
        client.SendJson("LIST", new JObject());
        client.ExpectError(ThynapseErrorCode.NotWelcomed);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Helo_WithoutTheSecret_IsRefusedBeforeItsFieldsAreRead()
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);

        // Invalid fields and another protocol version: a stranger still learns only that it is not authenticated.
        client.SendJson("HELO", new JObject { ["protocol"] = 2, ["id"] = 42 });
        client.ExpectError(ThynapseErrorCode.AuthenticationFailed);
        client.SendJson("HELO", new JObject { ["secret"] = 42, ["id"] = client.Id.ToString(), ["service"] = "s" });
        client.ExpectError(ThynapseErrorCode.AuthenticationFailed);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Helo_WithTheSecret_IsWelcomed()
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);

        var welcome = client.Hello(TestIds.Next("auth"), new JObject { ["secret"] = Secret });

        Assert.IsNotNull(welcome.Value<string>("session"));
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Credential_JoinsAsItsServicesOnly()
    {
        using (var billing = new RawClient(_transmitter.CommandEndpoint))
        {
            billing.Hello("billing-audit", new JObject { ["secret"] = BillingSecret });
        }

        using var other = new RawClient(_transmitter.CommandEndpoint);
        other.SendJson("HELO", new JObject { ["id"] = other.Id.ToString(), ["service"] = "orders", ["secret"] = BillingSecret });
        var error = other.ExpectError(ThynapseErrorCode.AuthenticationFailed);
        Assert.Contains("only as billing, billing-audit", error.Value<string>("message")!);
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Cell_WithTheSecret_ConnectsAndRoutes()
    {
        var channel = TestIds.Next("auth.events");
        await using var subscriber = await Cells.ConnectAsync(_transmitter, "auth-sub", o => o with { Secret = Secret }, Ct);
        await using var publisher = await Cells.ConnectAsync(_transmitter, "billing", o => o with { Secret = BillingSecret }, Ct);
        await using var got = await Catcher.SubscribeAsync(subscriber, channel, Catch.Multi, Ct);

        await publisher.PublishAsync(channel, "hello"u8.ToArray(), cancellationToken: Ct);

        await got.WaitForAsync(1, "the subscriber", Ct);
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Cell_WithAWrongSecret_FailsToConnectWithAuthenticationFailed()
    {
        var failures = _transmitter.Stats.AuthenticationFailures;

        var refused = await Assert.ThrowsExactlyAsync<ThynapseRejectedException>(() =>
            Cells.ConnectAsync(_transmitter, "auth-wrong", o => o with { Secret = "not-the-secret-at-all" }, Ct));

        Assert.AreEqual(ThynapseErrorCode.AuthenticationFailed, refused.Code);
        Assert.IsGreaterThan(failures, _transmitter.Stats.AuthenticationFailures);
    }
}
