namespace Thynapse.Cell.Tests;

/// <summary>
/// <c>receivers</c> counts deliveries: one per multicatch cell plus one per anycatch service (PROTOCOL.md §4.1, §5.4).
/// A cell catching a channel both ways is in both sets and gets two deliveries; two subscriptions of one mode on one
/// cell never add one. Each test ends with a sentinel on the same ordered path, so that a second copy of the first
/// event, had it been sent, would have arrived before the sentinel did.
/// </summary>
[TestClass]
public sealed class ReceiversTests : TestBase
{
    private static readonly Thynapse.Transmitter.Transmitter _transmitter = SharedTransmitter.Instance;

    [TestMethod]
    [Timeout(15_000)]
    public async Task OneCellCatchingMultiAndAny_GetsTwoDeliveriesAndReceiversIsTwo()
    {
        var (first, counts) = await PublishToOneCellAsync(Catch.Multi, Catch.Any);

        Assert.AreEqual(2, first.Receivers, "one multicatch cell plus one anycatch service, the same cell");
        CollectionAssert.AreEqual(new[] { 1, 1 }, counts, "each subscription got the event once");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task OneCellWithTwoMulticatchSubscriptions_GetsOneDeliverySeenByBothAndReceiversIsOne()
    {
        var (first, counts) = await PublishToOneCellAsync(Catch.Multi, Catch.Multi);

        Assert.AreEqual(1, first.Receivers, "one multicatch cell");
        CollectionAssert.AreEqual(new[] { 1, 1 }, counts, "the cell hands its one delivery to each matching multicatch subscription");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task OneCellWithTwoAnycatchSubscriptions_GetsOneDeliveryForOneOfThemAndReceiversIsOne()
    {
        var (first, counts) = await PublishToOneCellAsync(Catch.Any, Catch.Any);

        Assert.AreEqual(1, first.Receivers, "one anycatch service");
        Assert.AreEqual(1, counts.Sum(), "the delivery names one of the cell's anycatch subscriptions");
    }

    /// <summary>
    /// One cell subscribes to one channel twice, in <paramref name="a"/> and <paramref name="b"/> mode; another cell
    /// publishes an event and then a sentinel. Returns the first event's result and how often each subscription saw it.
    /// </summary>
    private async Task<(PublishResult First, int[] Counts)> PublishToOneCellAsync(Catch a, Catch b)
    {
        var channel = TestIds.Next("receivers");
        await using var catcher = await Cells.ConnectAsync(_transmitter, TestIds.Next("catcher"), Ct);
        var seen = new[] { new EventCollector(), new EventCollector() };
        await using var first = await catcher.SubscribeAsync(channel, a, Ct);
        await using var second = await catcher.SubscribeAsync(channel, b, Ct);
        using var s0 = first.Subscribe(seen[0]);
        using var s1 = second.Subscribe(seen[1]);
        await using var publisher = await Cells.ConnectAsync(_transmitter, TestIds.Next("publisher"), Ct);

        var result = await publisher.PublishAsync(channel, "event", cancellationToken: Ct);
        var sentinel = await publisher.PublishAsync(channel, "sentinel", cancellationToken: Ct);

        var sentinels = a == b && a == Catch.Any ? 1 : 2; // two anycatch subscriptions of one cell: one delivery of it
        await Eventually.That("the sentinel arrived", () => seen.Sum(c => c.Events.Count(e => e.Sequence == sentinel.Sequence)) == sentinels, cancellationToken: Ct);
        return (result, [.. seen.Select(c => c.Events.Count(e => e.Sequence == result.Sequence))]);
    }
}
