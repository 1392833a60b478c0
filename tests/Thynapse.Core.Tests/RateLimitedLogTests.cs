using Microsoft.Extensions.Time.Testing;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Thynapse.Core.Tests;

/// <summary>
/// Issue 15, findings 6 and 14: warnings caused by cells are limited per kind over a window, one kind never silences
/// another, and what was held back is summarised once the window is over, by the next tick (the transmitter's use, with
/// its kinds); and a warning application code can cause at will is logged within its budget, with what was held back
/// said after the next one (the SDK's use).
/// </summary>
[TestClass]
public sealed class RateLimitedLogTests
{
    /// <summary>The transmitter's first kinds (its LogLimiter's names), in its order.</summary>
    private static readonly string[] Kinds = ["refusals", "dropped-delivery", "slow-cell", "redelivery"];
    private const int Refused = 0, SlowCell = 2, Redelivery = 3;

    [TestMethod]
    public void EachKind_HasItsOwnBudgetPerWindow_AndItsOwnSummary()
    {
        var clock = new FakeTimeProvider();
        var sink = new Collecting();
        var limiter = new RateLimitedLog(new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger(), clock.GetTimestamp, clock.TimestampFrequency, Kinds, perWindow: 10, TimeSpan.FromSeconds(10));

        // 726 redeliveries in a second (the run of the report) and, meanwhile, a few refusals.
        var allowed = Enumerable.Range(0, 726).Count(_ => limiter.Allow(Redelivery));
        var refusals = Enumerable.Range(0, 3).Count(_ => limiter.Allow(Refused));
        Assert.AreEqual(10, allowed, "ten redelivery warnings per window");
        Assert.AreEqual(3, refusals, "the redeliveries did not use up the refusals' budget");

        clock.Advance(TimeSpan.FromSeconds(5));
        limiter.Tick();
        Assert.IsEmpty(sink.Messages, "no summary before the window is over");

        clock.Advance(TimeSpan.FromSeconds(5));
        limiter.Tick();
        Assert.HasCount(1, sink.Messages);
        StringAssert.Contains(sink.Messages[0], "716 further \"redelivery\" warnings");

        Assert.IsTrue(limiter.Allow(Redelivery), "a new window, a new budget");
    }

    [TestMethod]
    public void SuppressedWarnings_AreSummarisedByTheNextWarningOfTheirKind_WithoutATick()
    {
        var clock = new FakeTimeProvider();
        var sink = new Collecting();
        var limiter = new RateLimitedLog(new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger(), clock.GetTimestamp, clock.TimestampFrequency, Kinds, perWindow: 2, TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++)
        {
            limiter.Allow(SlowCell);
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.IsTrue(limiter.Allow(SlowCell));
        Assert.HasCount(1, sink.Messages);
        StringAssert.Contains(sink.Messages[0], "3 further \"slow-cell\" warnings");
    }

    [TestMethod]
    public void Warn_PastTheBudget_HoldsBackAndSaysHowManyInTheNextWindow()
    {
        var clock = new FakeTimeProvider();
        var sink = new Collecting();
        var warning = new RateLimitedLog(new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger(), clock, "token-callback", perWindow: 2, TimeSpan.FromSeconds(10));
        var error = new InvalidOperationException("bug");

        for (var i = 0; i < 50; i++)
        {
            warning.Warn(error, "A callback of {Pattern} threw", "jobs.*");
        }

        Assert.AreEqual(50L, warning.Count(), "every one is counted");
        Assert.HasCount(2, sink.Messages, "two per window are logged");

        clock.Advance(TimeSpan.FromSeconds(10));
        warning.Warn(error, "A callback of {Pattern} threw", "jobs.*");

        Assert.HasCount(4, sink.Messages);
        Assert.AreEqual("A callback of \"jobs.*\" threw", sink.Messages[2]);
        StringAssert.StartsWith(sink.Messages[3], "48 more warnings like the one before were not logged");
    }

    private sealed class Collecting : ILogEventSink
    {
        public List<string> Messages { get; } = [];

        public void Emit(LogEvent logEvent) => Messages.Add(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
    }
}
