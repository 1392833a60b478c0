using Microsoft.Extensions.Time.Testing;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Tests;

/// <summary>
/// Issue 15, findings 6 and 14: warnings caused by cells are limited per kind over a window, one kind never silences
/// another, and what was held back is summarised once the window is over, by the next tick.
/// </summary>
[TestClass]
public sealed class LogLimiterTests
{
    [TestMethod]
    public void EachKind_HasItsOwnBudgetPerWindow_AndItsOwnSummary()
    {
        var clock = new FakeTimeProvider();
        var sink = new Collecting();
        var limiter = new LogLimiter(new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger(), clock.GetTimestamp, clock.TimestampFrequency, perWindow: 10, TimeSpan.FromSeconds(10));

        // 726 redeliveries in a second (the run of the report) and, meanwhile, a few refusals.
        var allowed = Enumerable.Range(0, 726).Count(_ => limiter.Allow(WarningKind.Redelivery));
        var refusals = Enumerable.Range(0, 3).Count(_ => limiter.Allow(WarningKind.Refused));
        Assert.AreEqual(10, allowed, "ten redelivery warnings per window");
        Assert.AreEqual(3, refusals, "the redeliveries did not use up the refusals' budget");

        clock.Advance(TimeSpan.FromSeconds(5));
        limiter.Tick();
        Assert.IsEmpty(sink.Messages, "no summary before the window is over");

        clock.Advance(TimeSpan.FromSeconds(5));
        limiter.Tick();
        Assert.HasCount(1, sink.Messages);
        StringAssert.Contains(sink.Messages[0], "716 further \"redelivery\" warnings");

        Assert.IsTrue(limiter.Allow(WarningKind.Redelivery), "a new window, a new budget");
    }

    [TestMethod]
    public void SuppressedWarnings_AreSummarisedByTheNextWarningOfTheirKind_WithoutATick()
    {
        var clock = new FakeTimeProvider();
        var sink = new Collecting();
        var limiter = new LogLimiter(new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger(), clock.GetTimestamp, clock.TimestampFrequency, perWindow: 2, TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++)
        {
            limiter.Allow(WarningKind.SlowCell);
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.IsTrue(limiter.Allow(WarningKind.SlowCell));
        Assert.HasCount(1, sink.Messages);
        StringAssert.Contains(sink.Messages[0], "3 further \"slow-cell\" warnings");
    }

    private sealed class Collecting : ILogEventSink
    {
        public List<string> Messages { get; } = [];

        public void Emit(LogEvent logEvent) => Messages.Add(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
    }
}
