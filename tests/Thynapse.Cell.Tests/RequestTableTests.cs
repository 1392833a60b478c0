namespace Thynapse.Cell.Tests;

/// <summary>The table of requests waiting for answers (<see cref="RequestTable"/>), without a socket: nothing is sent.</summary>
[TestClass]
public sealed class RequestTableTests
{
    [TestMethod]
    public void SessionLost_ParksTheUnansweredInTheOrderTheyWereMade_AheadOfThoseThatWaited()
    {
        using var fixture = new Fixture();
        var table = fixture.Table;
        var (first, second, third) = (Meta(1), Meta(2), Meta(3));
        table.Send(first);
        table.Send(second);
        table.Send(third);
        table.Send(Request.Of(new HelloMessage(Thid.NewRandom(), "svc")));
        table.Answer(new OkayMessage(Command.Meta) { Ref = new JValue(second.Ref) });

        table.SessionLost();
        var waiting = Meta(4);
        table.Submit(waiting); // no session: parked behind them

        CollectionAssert.AreEqual(new[] { first, third, waiting }, table.TakeParked(), "the HELO and the answered one are not asked again");
        Assert.AreEqual(0, table.Waiting);
    }

    [TestMethod]
    public void Answer_RunsWhatTheAnswerChangesBeforeTheTaskCompletes()
    {
        using var fixture = new Fixture();
        var applied = false;
        var request = Request.Of(new MetadataMessage(), _ => applied = true);
        fixture.Table.Send(request);

        fixture.Table.Answer(new OkayMessage(Command.Meta) { Ref = new JValue(request.Ref) });

        Assert.IsTrue(applied);
        Assert.IsTrue(request.Reply.Task.IsCompletedSuccessfully);
    }

    [TestMethod]
    public void FailAll_FailsTheSentAndTheParked()
    {
        using var fixture = new Fixture();
        var (sent, parked) = (Meta(1), Meta(2));
        fixture.Table.Send(sent);
        fixture.Table.Park(parked);

        fixture.Table.FailAll(new ObjectDisposedException("cell"));

        Assert.IsTrue(sent.Reply.Task.IsFaulted && parked.Reply.Task.IsFaulted);
        Assert.AreEqual(0, fixture.Table.Waiting);
        Assert.IsEmpty(fixture.Table.TakeParked());
    }

    private static Request Meta(int step) => Request.Of(new MetadataMessage { Metadata = new JObject { ["step"] = step } });

    /// <summary>A table on a socket thread that is never started, with an outbox that has no link (frames go nowhere).</summary>
    private sealed class Fixture : IDisposable
    {
        private readonly SocketThread _thread = new(Serilog.Core.Logger.None, () => { });

        public Fixture()
        {
            var publishes = new PublishBuffer(32 * 1024, 1024 * 1024, () => { });
            var outbox = new Outbox(_thread, publishes, new AckBuffer(() => { }));
            Table = new RequestTable(_thread, outbox, new CellSignals(Serilog.Core.Logger.None), CellOptions.Default);
        }

        public RequestTable Table { get; }

        public void Dispose() => _thread.Dispose();
    }
}
