namespace Thynapse.Cell.Tests;

/// <summary>
/// Review finding 3: a handler's token is cancelled at its deadline on a timer thread; a callback the application
/// registered on it that throws must not escape there (an exception on a timer thread ends the process).
/// </summary>
[TestClass]
public sealed class HandlerSlotTests
{
    [TestMethod]
    public void CancelIfLate_ACallbackThatThrows_IsReportedNotThrown()
    {
        using var stopping = new CancellationTokenSource();
        var failures = new List<Exception>();
        var slot = new HandlerSlot(failures.Add, stopping.Token);
        var token = slot.Begin(tag: 7, deadline: 1_000);
        using var registration = token.Register(() => throw new InvalidOperationException("the application's bug"));

        var cancelled = slot.CancelIfLate(now: 1_001);

        Assert.IsTrue(cancelled);
        Assert.IsTrue(token.IsCancellationRequested);
        Assert.HasCount(1, failures);
        Assert.IsInstanceOfType<AggregateException>(failures[0]);
        Assert.AreEqual("the application's bug", ((AggregateException)failures[0]).InnerException?.Message);
    }

    [TestMethod]
    public void CancelIfLate_BeforeTheDeadline_DoesNothing()
    {
        using var stopping = new CancellationTokenSource();
        var slot = new HandlerSlot(_ => Assert.Fail("no callback ran"), stopping.Token);
        var token = slot.Begin(tag: 7, deadline: 1_000);

        Assert.IsFalse(slot.CancelIfLate(now: 1_000));
        Assert.IsFalse(token.IsCancellationRequested);
    }
}
