using Microsoft.Extensions.Time.Testing;
using Serilog;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Wire;
using static Thynapse.Transmitter.Tests.Engines.EngineTestCells;

namespace Thynapse.Transmitter.Tests.Engines;

/// <summary>Cell output alone, on a fake clock: hold behind a full queue, retry in order, the grace, a vanished peer.</summary>
[TestClass]
public sealed class CellOutputTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly TransmitterCounters _counters = new();
    private readonly QueueSender _sender = new();
    private readonly List<LocalCell> _gone = [];
    private StallAwareClock _clock = null!;

    private CellOutput Output(TimeSpan fullQueueGrace)
    {
        var options = TransmitterOptions.Default with { TimeProvider = _time, FullQueueGrace = fullQueueGrace };
        var clock = _clock = new StallAwareClock(_time, TimeSpan.FromSeconds(10));
        var log = new LoggerConfiguration().CreateLogger();
        return new CellOutput(_sender, options, _counters, clock, new LogLimiter(log, () => clock.Now, clock.Frequency), log,
            new CreditPacer(_sender, options, _counters), _gone.Add);
    }

    [TestMethod]
    public void FramesToAFullQueue_WaitInTheBacklog_AndGoOutInOrderOnceThereIsRoom()
    {
        var output = Output(TimeSpan.FromSeconds(1));
        var cell = NewCell("audit");
        _sender.Room = 1;
        foreach (var n in new[] { 1, 2, 3 })
        {
            output.Send(cell, Encoding.ASCII.GetBytes($"J OKAY {{\"ref\":{n}}}"));
        }

        CollectionAssert.AreEqual(new[] { "J OKAY {\"ref\":1}" }, _sender.Sent);
        Assert.IsTrue(output.HasBacklog);
        Assert.AreEqual(0L, TransmitterCounters.Read(ref _counters.RepliesDropped), "held, not dropped");

        _sender.Room = int.MaxValue;
        output.RetryBacklogs();
        CollectionAssert.AreEqual(new[] { "J OKAY {\"ref\":1}", "J OKAY {\"ref\":2}", "J OKAY {\"ref\":3}" }, _sender.Sent);
        Assert.IsFalse(output.HasBacklog);
    }

    [TestMethod]
    public void WithoutAGrace_AFullQueueDropsAndCounts()
    {
        var output = Output(TimeSpan.Zero);
        var cell = NewCell("audit");
        _sender.Room = 0;
        output.Send(cell, "J OKAY {}"u8);
        Assert.IsFalse(output.HasBacklog);
        Assert.AreEqual(1L, TransmitterCounters.Read(ref _counters.RepliesDropped));
        Assert.AreEqual(1L, cell.Output.UnreportedReplies, "to be told with the next SLOW");
    }

    [TestMethod]
    public void ABacklogThatTakesNothingForTheGrace_IsDropped_AndTheCellIsNotHeldAgainAtOnce()
    {
        var output = Output(TimeSpan.FromMilliseconds(100));
        var cell = NewCell("audit");
        _sender.Room = 0;
        output.Send(cell, "J OKAY {\"ref\":1}"u8);
        Assert.IsTrue(output.HasBacklog);

        _time.Advance(TimeSpan.FromMilliseconds(50));
        _clock.Advance(); // the routing thread's clock, as the processor advances it before each retry
        output.RetryBacklogs();
        Assert.IsTrue(output.HasBacklog, "within the grace it waits");

        _time.Advance(TimeSpan.FromMilliseconds(60));
        _clock.Advance();
        output.RetryBacklogs();
        Assert.IsFalse(output.HasBacklog, "the grace passed without progress: dropped");
        Assert.AreEqual(1L, TransmitterCounters.Read(ref _counters.RepliesDropped));

        output.Send(cell, "J OKAY {\"ref\":2}"u8);
        Assert.IsFalse(output.HasBacklog, "a cell just judged slow is not held again at once: what does not fit is dropped");
        Assert.AreEqual(2L, TransmitterCounters.Read(ref _counters.RepliesDropped));
    }

    /// <summary>
    /// A send that finds the connection gone reports it (the lifecycle then ends the session, here: closes the cell);
    /// what is sent to the closed cell afterwards is counted, not reported again.
    /// </summary>
    [TestMethod]
    public void AConnectionFoundGone_IsReportedOnce()
    {
        _gone.Clear();
        var output = Output(TimeSpan.FromSeconds(1));
        var cell = NewCell("audit");
        _sender.Gone = true;
        output.Send(cell, "J OKAY {}"u8);
        cell.Closed = true; // what SessionLifecycle.Remove does when told
        output.Send(cell, "J OKAY {}"u8);
        CollectionAssert.AreEqual(new[] { cell }, _gone);
        Assert.AreEqual(2L, TransmitterCounters.Read(ref _counters.RepliesDropped));
        Assert.IsEmpty(_sender.Sent);
    }

    /// <summary>A ROUTER with a queue of <see cref="Room"/> frames, all cells alike.</summary>
    private sealed class QueueSender : IFrameSender
    {
        public int Room { get; set; } = int.MaxValue;

        public bool Gone { get; set; }

        public List<string> Sent { get; } = [];

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> frame) => Send(routingId, frame, default);

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
        {
            if (Gone)
            {
                return SendOutcome.Gone;
            }

            if (Room == 0)
            {
                return SendOutcome.Full;
            }

            Room = Room == int.MaxValue ? Room : Room - 1;
            Sent.Add(Encoding.ASCII.GetString(header));
            return SendOutcome.Sent;
        }
    }
}
