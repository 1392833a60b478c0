namespace Thynapse.Cell.Tests;

/// <summary>How subscriptions travel across sessions (<see cref="Subscriptions"/>), without a socket: nothing is sent.</summary>
[TestClass]
public sealed class SubscriptionsTests
{
    [TestMethod]
    public void ForHello_CarriesWhatFitsAndTheRestFollowAsSubs()
    {
        using var fixture = new Fixture();
        for (var i = 0; i < 200; i++)
        {
            fixture.Add($"{new string('p', 200)}.{i}");
        }

        var inHello = fixture.Subscriptions.ForHello().Count;
        fixture.Subscriptions.FollowHello();

        Assert.IsTrue(inHello is > 0 and < 200, $"{inHello} in the HELO");
        Assert.AreEqual(200 - inHello, fixture.Requests.Waiting, "the rest follow as SUBS");
    }

    [TestMethod]
    public void SubscriptionDroppedWhileTheHeloWasOnItsWay_IsUnsubscribedOnce()
    {
        using var fixture = new Fixture();
        var gone = fixture.Add("audit.*");
        fixture.Subscriptions.ForHello();
        fixture.Subscriptions.Routes.Remove(gone); // disposed while re-joining: its UNSB is parked
        var parked = Request.Of(new UnsubscribeMessage(gone.Id));

        fixture.Subscriptions.FollowHello();
        fixture.Subscriptions.DropGone(); // the one UNSB

        Assert.IsTrue(fixture.Subscriptions.Settle(parked), "the parked UNSB is settled, not sent again");
        Assert.IsTrue(parked.Reply.Task.IsCompletedSuccessfully);
    }

    private sealed class Fixture : IDisposable
    {
        private readonly SocketThread _thread = new(Serilog.Core.Logger.None, () => { });

        public Fixture()
        {
            var outbox = new Outbox(_thread, new PublishBuffer(32 * 1024, 1024 * 1024, () => { }), new AckBuffer(() => { }));
            var signals = new CellSignals(Serilog.Core.Logger.None);
            Requests = new RequestTable(_thread, outbox, signals, CellOptions.Default);
            Subscriptions = new Subscriptions(Requests, outbox, signals);
        }

        public RequestTable Requests { get; }

        public Subscriptions Subscriptions { get; }

        public CellSubscription Add(string pattern)
        {
            var subscription = new CellSubscription(null!, Subscriptions.NextId(), ChannelPattern.Parse(pattern), Catch.Multi, SubscriptionOptions.Default, 16, _ => { });
            Subscriptions.Routes.Add(subscription);
            return subscription;
        }

        public void Dispose() => _thread.Dispose();
    }
}
