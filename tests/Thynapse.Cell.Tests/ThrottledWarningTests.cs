using Microsoft.Extensions.Time.Testing;
using Thynapse.Cell.Internal;

namespace Thynapse.Cell.Tests;

/// <summary>The limit on warnings the application can cause at will (<see cref="ThrottledWarning"/>).</summary>
[TestClass]
public sealed class ThrottledWarningTests
{
    [TestMethod]
    public void Warn_PastTheBudget_HoldsBackAndSaysHowManyInTheNextWindow()
    {
        var clock = new FakeTimeProvider();
        var sink = new CollectingSink();
        var warning = new ThrottledWarning(sink.Logger, "A callback of {Pattern} threw", clock, perWindow: 2, TimeSpan.FromSeconds(10));
        var error = new InvalidOperationException("bug");

        for (var i = 0; i < 50; i++)
        {
            warning.Warn(error, "jobs.*");
        }

        Assert.AreEqual(50L, warning.Count, "every one is counted");
        Assert.HasCount(2, sink.Messages, "two per window are logged");

        clock.Advance(TimeSpan.FromSeconds(10));
        warning.Warn(error, "jobs.*");

        Assert.HasCount(4, sink.Messages);
        Assert.AreEqual("A callback of \"jobs.*\" threw", sink.Messages[2]);
        StringAssert.StartsWith(sink.Messages[3], "48 more warnings like the one before were not logged");
    }
}
