namespace Thynapse.Cell.Tests;

/// <summary>The answers a cell owes (<see cref="Acknowledgements"/>), without a socket thread running.</summary>
[TestClass]
public sealed class AcknowledgementsTests
{
    [TestMethod]
    public void AnswersForAnotherSession_AreDroppedAndCounted()
    {
        using var thread = new SocketThread(Serilog.Core.Logger.None, () => { });
        var acks = new AckBuffer(() => { });
        var answers = new Acknowledgements(thread, new Outbox(thread, new PublishBuffer(32 * 1024, 1024 * 1024, () => { }), acks), acks, 1024);
        answers.BeginSession(2);

        answers.Refuse(tag: 1, "late", session: 1);
        Assert.IsFalse(answers.InProgress(tag: 1, session: 1));
        answers.Acknowledge(tag: 1, Thid.NewRandom(), 7, session: 1);

        Assert.AreEqual(3L, answers.Stale);
        Assert.IsNull(acks.TakeNext(), "no acknowledgement of session 1 is buffered");
    }

    [TestMethod]
    public void HandledEvents_AreRememberedAndTheirDuplicatesCounted()
    {
        using var thread = new SocketThread(Serilog.Core.Logger.None, () => { });
        var acks = new AckBuffer(() => { });
        var answers = new Acknowledgements(thread, new Outbox(thread, new PublishBuffer(32 * 1024, 1024 * 1024, () => { }), acks), acks, 1024);
        var origin = Thid.NewRandom();
        answers.BeginSession(1);

        answers.Acknowledge(tag: 5, origin, 42, session: 1);
        answers.AcknowledgeDuplicate(tag: 6, session: 1);

        Assert.IsTrue(answers.Handled(origin, 42));
        Assert.IsFalse(answers.Handled(origin, 43));
        Assert.AreEqual(1L, answers.Duplicates);
        Assert.AreEqual(2, acks.TakeNext()?.Records, "both acknowledgements are buffered for the session");
    }
}
