namespace Thynapse.Cell.Tests;

/// <summary>Publishing: validation, bodies, and identity.</summary>
[TestClass]
public sealed class PublishTests : TestBase
{
    private static Thynapse.Transmitter.Transmitter _transmitter = null!;

    [ClassInitialize]
    public static void Start(TestContext _) => _transmitter = Transmitters.StartLoopback(o => o with { MaxFrameBytes = 64 * 1024 });

    [ClassCleanup]
    public static async Task Stop() => await _transmitter.DisposeAsync();

    [TestMethod]
    [DataRow("")]
    [DataRow("a..b")]
    [DataRow("a.*")]
    [DataRow("$DLQ.x")]
    public async Task Publish_RefusesBadChannelsBeforeSending(string channel)
    {
        await using var cell = await Cells.ConnectAsync(_transmitter, "validating", Ct);

        Assert.ThrowsExactly<ArgumentException>(() => cell.Publish(channel, "x"));
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => cell.PublishAsync(channel, "x", cancellationToken: Ct));
    }

    [TestMethod]
    public async Task Publish_RefusesAnEventLargerThanTheTransmittersFrameLimit()
    {
        await using var cell = await Cells.ConnectAsync(_transmitter, "big", Ct);

        var ex = Assert.ThrowsExactly<ArgumentException>(() => cell.Publish("a", new byte[64 * 1024]));
        Assert.Contains("65536", ex.Message);
        cell.Publish("a", new byte[60 * 1024]); // within the limit
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Bodies_ArriveIntactAsBytesTextAndJson()
    {
        var channel = TestIds.Next("bodies");
        await using var cell = await Cells.ConnectAsync(_transmitter, "bodies", Ct);
        await using var collector = await Catcher.SubscribeAsync(cell, channel, Catch.Multi, Ct);
        var binary = Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7)).ToArray();

        cell.Publish(channel, binary);
        cell.Publish(channel, "héllo wörld");
        cell.PublishJson(channel, new Order(42, "tea"));
        cell.Publish(channel, ReadOnlySpan<byte>.Empty);

        await collector.WaitForAsync(4, "the subscriber", Ct);
        var events = collector.Events;
        CollectionAssert.AreEqual(binary, events[0].Body.ToArray());
        Assert.AreEqual("héllo wörld", events[1].BodyAsString());
        Assert.AreEqual(new Order(42, "tea"), events[2].BodyAs<Order>());
        Assert.AreEqual(42, events[2].BodyAsJson().Value<int>("Id"));
        Assert.AreEqual(0, events[3].Body.Length);
        var first = events[0].Sequence;
        CollectionAssert.AreEqual(new[] { first, first + 1, first + 2, first + 3 }, events.Select(e => e.Sequence).ToArray(), "one number per event, in order");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Key_UpTo1024BytesIsAcceptedAndLongerRefusedAtOnce()
    {
        await using var cell = await Cells.ConnectAsync(_transmitter, "keyed", Ct);

        var accepted = await cell.PublishAsync(TestIds.Next("keyed"), "x", new PublishOptions { Key = new string('k', 1024) }, Ct);

        Assert.AreEqual(PublishStatus.NoReceiver, accepted.Status);
        Assert.ThrowsExactly<ArgumentException>(() => cell.Publish("a", "x", new PublishOptions { Key = new string('k', 1025) }));
    }

    private sealed record Order(int Id, string Item);
}
