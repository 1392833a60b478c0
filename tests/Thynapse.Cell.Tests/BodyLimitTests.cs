namespace Thynapse.Cell.Tests;

/// <summary>
/// The largest body is the frame limit less the framing that shares its frame (PROTOCOL.md §8.1): in the SDK's
/// <c>B EVNT</c> 21 bytes plus the channel (and key, target); a <c>J EVNT</c> body is a frame of its own.
/// </summary>
[TestClass]
public sealed class BodyLimitTests : TestBase
{
    private const int MaxFrame = 64 * 1024;
    private static Thynapse.Transmitter.Transmitter _small = null!;
    private static readonly Thynapse.Transmitter.Transmitter _default = SharedTransmitter.Instance;

    [ClassInitialize]
    public static void Start(TestContext _)
    {
        _small = Transmitters.StartLoopback(o => o with { MaxFrameBytes = MaxFrame });
    }

    [ClassCleanup]
    public static async Task Stop()
    {
        await _small.DisposeAsync();
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Publish_BodyOfExactly1MiB_ThrowsNamingTheLargestBodyForTheChannel()
    {
        await using var cell = await Cells.ConnectAsync(_default, "big-bodies", Ct);

        var ex = Assert.ThrowsExactly<ArgumentException>(() => cell.Publish("orders.created", new byte[1024 * 1024]));

        Assert.AreEqual("body", ex.ParamName);
        Assert.AreEqual("A body of 1048576 bytes is too large: on channel 'orders.created' the largest body is 1048541 bytes "
            + "(the transmitter's frame limit of 1048576 bytes, less 35 bytes of framing; PROTOCOL.md §8.1). (Parameter 'body')", ex.Message);
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Publish_BodyOneByteOverTheLargestWithAKey_ThrowsCountingTheKey()
    {
        await using var cell = await Cells.ConnectAsync(_small, "keyed-bodies", Ct);
        var keyed = new PublishOptions { Key = "guild-42" };
        var largest = MaxFrame - 21 - "orders.created".Length - (2 + 8);

        var ex = await Assert.ThrowsExactlyAsync<ArgumentException>(() => cell.PublishAsync("orders.created", new byte[largest + 1], keyed, Ct));

        Assert.StartsWith($"A body of {largest + 1} bytes is too large: on channel 'orders.created' with a key of 8 bytes the largest body is {largest} bytes "
            + $"(the transmitter's frame limit of {MaxFrame} bytes, less {MaxFrame - largest} bytes of framing; PROTOCOL.md §8.1).", ex.Message);
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Publish_LargestBody_ReachesMulticatchAndAnycatchCatchersIntact()
    {
        var channel = TestIds.Next("largest");
        await using var catcher = await Cells.ConnectAsync(_small, "largest-catcher", Ct);
        var multi = new EventCollector();
        var any = new EventCollector();
        await using var multiSubscription = await catcher.SubscribeAsync(channel, Catch.Multi, Ct);
        await using var anySubscription = await catcher.SubscribeAsync(channel, Catch.Any, Ct);
        using var m = multiSubscription.Subscribe(multi);
        using var a = anySubscription.Subscribe(any);
        await using var publisher = await Cells.ConnectAsync(_small, "largest-publisher", Ct);
        var body = Enumerable.Range(0, MaxFrame - 21 - channel.Length).Select(i => (byte)i).ToArray();

        var result = await publisher.PublishAsync(channel, body, cancellationToken: Ct);

        Assert.AreEqual(2, result.Receivers);
        await multi.WaitForAsync(1, "the multicatch subscription", Ct);
        await any.WaitForAsync(1, "the anycatch subscription", Ct);
        CollectionAssert.AreEqual(body, multi.Events[0].Body.ToArray());
        CollectionAssert.AreEqual(body, any.Events[0].Body.ToArray(), "a delivery's framing is larger than the event's, and not bound by the limit");
    }

    [TestMethod]
    [Timeout(15_000)]
    public void JsonEvent_BodyOfExactlyTheFrameLimit_IsAccepted()
    {
        using var client = RawClient.Welcomed(_small.CommandEndpoint, "json-body");

        client.SendJson("EVNT", new JObject { ["channel"] = "orders.created", ["seq"] = 1, ["confirm"] = true }, new byte[MaxFrame]);
        Assert.AreEqual(1, client.Expect("ACPT").Payload.Value<int>("seq"));
        client.SendJson("EVNT", new JObject { ["channel"] = "orders.created", ["seq"] = 2, ["confirm"] = true }, new byte[MaxFrame + 1]);
        Assert.Contains($"exceeds the limit of {MaxFrame}", client.ExpectError(ThynapseErrorCode.FrameTooLarge).Value<string>("message")!);
    }
}
