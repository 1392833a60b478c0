namespace Thynapse.Cell.Tests;

/// <summary>Review finding 10: acknowledgements belong to the session that gave their tags, never to the next one.</summary>
[TestClass]
public sealed class AckBufferTests
{
    [TestMethod]
    public void Append_ForASessionThatEnded_IsDroppedAndCounted()
    {
        var acks = new AckBuffer(() => { });
        acks.BeginSession(1);
        Assert.IsTrue(acks.Append(tag: 5, session: 1));
        acks.EndSession();

        // A handler of session 1 that finishes after the loss, and after the next welcome.
        Assert.IsFalse(acks.Append(tag: 6, session: 1));
        acks.BeginSession(2);
        Assert.IsFalse(acks.Append(tag: 7, session: 1));

        Assert.IsNull(acks.TakeNext(), "nothing of session 1 is left to send in session 2");
        Assert.AreEqual(2L, acks.Stale);
    }

    [TestMethod]
    public void Append_ForTheCurrentSession_IsSent()
    {
        var acks = new AckBuffer(() => { });
        acks.BeginSession(2);

        Assert.IsTrue(acks.Append(tag: 7, session: 2));
        Assert.IsTrue(acks.Append(tag: 8, session: 2, quiet: true));

        Assert.AreEqual(2, acks.TakeNext()?.Records);
        Assert.AreEqual(0L, acks.Stale);
    }
}
