using System.Reactive.Linq;

namespace Thynapse.Cell.Tests;

/// <summary>Subscribing, unsubscribing, buffering and slow observers.</summary>
[TestClass]
public sealed class SubscriptionTests : TestBase
{
    private static readonly Thynapse.Transmitter.Transmitter _transmitter = SharedTransmitter.Instance;

    [TestMethod]
    [Timeout(15_000)]
    public async Task SubscribeAsync_IsActiveWhenItCompletes()
    {
        var channel = TestIds.Next("active");
        await using var cell = await Cells.ConnectAsync(_transmitter, "active", Ct);

        await using var subscription = await cell.SubscribeAsync(channel, Catch.Multi, Ct);
        var result = await cell.PublishAsync(channel, "right away", cancellationToken: Ct);

        Assert.AreEqual(1, result.Receivers, "no slow joiner: the confirmed subscription catches the very next event");
        // Events are buffered until somebody observes them.
        var collector = new EventCollector();
        using var _ = subscription.Subscribe(collector);
        await collector.WaitForAsync(1, "the late observer", Ct);
        Assert.AreEqual("right away", collector.Events[0].BodyAsString());
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task DisposeAsync_StopsDeliveryShownBySentinel()
    {
        var channel = TestIds.Next("unsub");
        var sentinelChannel = TestIds.Next("sentinel");
        await using var cell = await Cells.ConnectAsync(_transmitter, "unsubscriber", Ct);
        await using var publisher = await Cells.ConnectAsync(_transmitter, "publisher", Ct);
        var caught = new EventCollector();
        var sentinel = new EventCollector();
        var subscription = await cell.SubscribeAsync(channel, Catch.Multi, Ct);
        await using var sentinelSubscription = await cell.SubscribeAsync(sentinelChannel, Catch.Multi, Ct);
        using var a = subscription.Subscribe(caught);
        using var b = sentinelSubscription.Subscribe(sentinel);
        Assert.AreEqual(1, (await publisher.PublishAsync(channel, "before", cancellationToken: Ct)).Receivers);
        await caught.WaitForAsync(1, "the subscription before unsubscribing", Ct);

        await subscription.DisposeAsync();
        var after = await publisher.PublishAsync(channel, "after", cancellationToken: Ct);
        await publisher.PublishAsync(sentinelChannel, "sentinel", cancellationToken: Ct);

        await sentinel.WaitForAsync(1, "the sentinel", Ct);
        Assert.AreEqual(0, after.Receivers, "the transmitter routed the later event to nobody");
        Assert.AreEqual(1, caught.Count, "the unsubscribed observer saw nothing after unsubscribing");
        await Eventually.That("the unsubscribed observer is completed", () => caught.Completed || caught.Error is not null, cancellationToken: Ct);
        caught.AssertNoError("the unsubscribed subscription");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Events_IsLazyAndDisposingItUnsubscribes()
    {
        var channel = TestIds.Next("lazy");
        await using var cell = await Cells.ConnectAsync(_transmitter, "lazy", Ct);
        var events = cell.Events(channel, Catch.Any);

        Assert.AreEqual(0, (await cell.PublishAsync(channel, "nobody yet", cancellationToken: Ct)).Receivers, "nothing subscribes before Subscribe");
        var collector = new EventCollector();
        var handle = events.Subscribe(collector);
        await Eventually.That("the lazy subscription is active", async () =>
            (await cell.PublishAsync(channel, "probe", cancellationToken: Ct)).Receivers == 1, cancellationToken: Ct);
        await collector.WaitForAsync(1, "the lazy observer", Ct);

        handle.Dispose();

        await Eventually.That("disposing unsubscribed", async () =>
            (await cell.PublishAsync(channel, "gone", cancellationToken: Ct)).Receivers == 0, cancellationToken: Ct);
    }

    [TestMethod]
    public async Task Events_ValidatesThePatternAtOnce()
    {
        await using var cell = await Cells.ConnectAsync(_transmitter, "validating", Ct);

        Assert.ThrowsExactly<ArgumentException>(() => cell.Events("a.>.b", Catch.Multi));
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => cell.SubscribeAsync("a b", Catch.Multi, Ct));
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task SlowObserver_FillsOnlyItsOwnBufferAndIsReported()
    {
        const int capacity = 10, events = 100;
        var channel = TestIds.Next("slow");
        await using var cell = await Cells.ConnectAsync(_transmitter, "slow", Ct);
        var notices = new List<CellNotice>();
        using var watch = cell.Notices.Subscribe(n => { lock (notices) { notices.Add(n); } });
        using var gate = new ManualResetEventSlim(false);
        var slowSeen = 0;
        var fast = new EventCollector();
        await using var slow = await cell.SubscribeAsync(channel, Catch.Multi, new SubscriptionOptions { BufferCapacity = capacity }, Ct);
        await using var quick = await cell.SubscribeAsync(channel, Catch.Multi, Ct);
        using var s = slow.Subscribe(_ =>
        {
            gate.Wait(Ct);
            Interlocked.Increment(ref slowSeen);
        });
        using var q = quick.Subscribe(fast);

        for (var i = 0; i < events; i++)
        {
            cell.Publish(channel, $"{i}");
        }

        await fast.WaitForAsync(events, "the fast subscription on the same cell", Ct);
        await Eventually.That("the slow subscription counted its drops", () => slow.Dropped > 0, cancellationToken: Ct);
        await Eventually.That("a slow-consumer notice was raised", () =>
        {
            lock (notices)
            {
                return notices.Any(n => n.Kind == CellNoticeKind.SlowConsumer && n.Pattern == channel && n.Count > 0);
            }
        }, cancellationToken: Ct);

        gate.Set();
        await Eventually.That("the slow observer drains what it kept", () => slowSeen + slow.Dropped == events, cancellationToken: Ct);
        Assert.IsLessThanOrEqualTo(capacity + 1, slowSeen, "it kept at most its buffer (plus the one in hand)");
        Assert.AreEqual(events, fast.Count);
        fast.AssertNoError("the fast subscription");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task ThrowingObserver_LeavesTheOtherObserversStreamIntact()
    {
        var channel = TestIds.Next("throwing");
        await using var cell = await Cells.ConnectAsync(_transmitter, "throwing", Ct);
        var failures = 0;
        using var watch = cell.Notices.Where(n => n.Kind == CellNoticeKind.ObserverFailed).Subscribe(_ => Interlocked.Increment(ref failures));
        await using var subscription = await cell.SubscribeAsync(channel, Catch.Multi, Ct);
        using var buggy = subscription.Subscribe(_ => throw new InvalidOperationException("an observer's bug"));
        var healthy = new EventCollector();
        using var _ = subscription.Subscribe(healthy);

        for (var i = 0; i < 3; i++)
        {
            cell.Publish(channel, $"{i}");
        }

        await healthy.WaitForAsync(3, "the healthy observer", Ct);
        await Eventually.That("an ObserverFailed notice per event", () => Volatile.Read(ref failures) == 3, cancellationToken: Ct);
        // The Rx grammar: the buggy observer's exceptions are reported on Notices, never as the others' OnError.
        healthy.AssertNoError("the healthy observer");
        Assert.IsFalse(healthy.Completed, "the stream goes on");
        CollectionAssert.AreEqual(new[] { "0", "1", "2" }, healthy.Events.Select(e => e.BodyAsString()).ToArray());
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task DisposingTheCell_CompletesItsObservers()
    {
        var cell = await Cells.ConnectAsync(_transmitter, "closing", Ct);
        var collector = new EventCollector();
        var subscription = await cell.SubscribeAsync(TestIds.Next("closing"), Catch.Multi, Ct);
        using var _ = subscription.Subscribe(collector);
        var states = new List<CellState>();
        using var s = cell.State.Subscribe(states.Add);

        await cell.DisposeAsync();

        await Eventually.That("the observer is completed", () => collector.Completed || collector.Error is not null, cancellationToken: Ct);
        collector.AssertNoError("the closed cell's subscription");
        await Eventually.That("the state says Closed", () => states.Contains(CellState.Closed), cancellationToken: Ct);
        Assert.AreEqual(CellState.Connected, states[0], "State replays the current state first");
        Assert.ThrowsExactly<ObjectDisposedException>(() => cell.Publish("a", "b"));
    }
}
