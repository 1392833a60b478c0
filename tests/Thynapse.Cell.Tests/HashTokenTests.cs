namespace Thynapse.Cell.Tests;

/// <summary>
/// <c>orders.#</c> (AMQP's "zero or more tokens") is refused, not taken literally (PROTOCOL.md §3.1, §3.2): the SDK
/// at once, the transmitter with <c>ERRR</c>, both with the same reason from the one parser in Thynapse.Core.
/// </summary>
[TestClass]
public sealed class HashTokenTests : TestBase
{
    private const string PatternReason = "'#' is not a wildcard here (token 2): use '>' for one or more trailing tokens, '*' for exactly one";
    private const string ChannelReason = "'#' cannot be a whole token of a channel (token 2): it is reserved, as the wildcard it looks like";
    private static readonly Thynapse.Transmitter.Transmitter _transmitter = SharedTransmitter.Instance;

    [TestMethod]
    [Timeout(15_000)]
    public async Task SubscribeAsync_HashToken_ThrowsSuggestingGreaterThanOrStar_AsTheTransmitterAnswers()
    {
        await using var cell = await Cells.ConnectAsync(_transmitter, "amqp-user", Ct);

        var sdk = await Assert.ThrowsExactlyAsync<ArgumentException>(() => cell.SubscribeAsync("orders.#", Catch.Multi, Ct));
        var lazy = Assert.ThrowsExactly<ArgumentException>(() => cell.Events("orders.#", Catch.Any));
        using var raw = new RawClient(_transmitter.CommandEndpoint);
        raw.Hello("amqp-user-raw");
        raw.SendJson("SUBS", new JObject { ["sub"] = 1, ["pattern"] = "orders.#" });
        var wire = raw.ExpectError(ThynapseErrorCode.InvalidPattern).Value<string>("message");

        Assert.StartsWith($"Invalid pattern 'orders.#': {PatternReason}.", sdk.Message);
        Assert.AreEqual(sdk.Message, lazy.Message);
        Assert.AreEqual($"invalid pattern 'orders.#': {PatternReason}", wire);
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Publish_HashToken_ThrowsNamingTheReservedToken_AsTheTransmitterAnswers()
    {
        await using var cell = await Cells.ConnectAsync(_transmitter, "amqp-publisher", Ct);

        var sdk = Assert.ThrowsExactly<ArgumentException>(() => cell.Publish("orders.#", "x"));
        using var raw = new RawClient(_transmitter.CommandEndpoint);
        raw.Hello("amqp-publisher-raw");
        raw.SendJson("EVNT", new JObject { ["channel"] = "orders.#", ["seq"] = 1 });
        var json = raw.ExpectError(ThynapseErrorCode.InvalidChannel).Value<string>("message");
        var frame = new FrameBatch(Command.Evnt);
        EventRecordWriter.Write(frame, false, 2, "orders.#", default, default, "x"u8);
        raw.Send(frame.Frame.ToArray());
        var binary = raw.ExpectError(ThynapseErrorCode.InvalidChannel).Value<string>("message");

        Assert.StartsWith($"Invalid channel 'orders.#': {ChannelReason}.", sdk.Message);
        Assert.AreEqual($"invalid channel: {ChannelReason}", json);
        Assert.AreEqual(json, binary);
    }
}
