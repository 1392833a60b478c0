using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Reliability;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Output;

/// <summary>
/// Everything that goes out to local cells: deliveries and confirmations batched per burst, answers, <c>SLOW</c>
/// notices, and each cell's backlog behind its full queue, with the verdicts on slow cells (PROTOCOL.md §8.2). The
/// lowest engine of the routing thread: it depends on nothing but the sender and <see cref="CreditPacer"/>.
/// </summary>
/// <remarks>
/// <para>
/// A full queue does not always mean a slow cell. The transmitter's one NetMQ I/O thread serves its connections in
/// turn, so a hundred busy publishers leave the single connection towards their receiver one turn in a hundred: its
/// queue fills while the receiver idles. So a frame that finds its cell's queue full goes to the cell's own
/// <b>backlog</b> (a bounded copy, retried every millisecond), and what comes for the cell meanwhile queues behind it,
/// in order. Publishers that use credit and keep sending to a cell with a backlog get no more credit until it has
/// drained (<see cref="CreditPacer"/>). Nobody else waits: input is never held, every other cell keeps being served,
/// liveness and disconnects keep being handled.
/// </para>
/// <para>
/// A cell whose backlog takes nothing for <see cref="TransmitterOptions.FullQueueGrace"/> is slow: its backlog is
/// dropped and counted, it is told with <c>SLOW</c>, the publishers waiting for it get their credit, and for
/// <see cref="SlowCellPause"/> (doubling with each such verdict in a row, up to 32 s) its full queue drops at once.
/// A cell whose queue stays full for the whole liveness timeout is not reading at all: <see cref="Stuck"/> says so,
/// and its session is ended as a silent cell's would be (NATS cuts a slow consumer off the same way).
/// </para>
/// <para>
/// Earlier versions held everyone's input for a full queue instead. Measured (issue 15, finding 11): 16 connections
/// that never read held input ~100% of 30 s and a steady 2,000 events/s flow fell to 0–10/s; even 4 stuck cells held
/// everyone 10 s out of 30.
/// </para>
/// </remarks>
internal sealed class CellOutput
{
    /// <summary>How long a cell judged slow drops at once instead of building a backlog (doubled per verdict in a row).</summary>
    internal static readonly TimeSpan SlowCellPause = TimeSpan.FromSeconds(1);

    /// <summary>The least time between two <c>SLOW</c> notices to one cell (PROTOCOL.md §8.2).</summary>
    private static readonly TimeSpan SlowNoticeInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The pause after slow verdicts doubles at most this often (1 s → 32 s).</summary>
    private const int MaxSlowDoublings = 5;

    private readonly IFrameSender _sender;
    private readonly TransmitterOptions _options;
    private readonly TransmitterCounters _counters;
    private readonly StallAwareClock _clock;
    private readonly LogLimiter _warnings;
    private readonly ILogger _log;
    private readonly CreditPacer _credit;
    private readonly Action<LocalCell> _gone;

    /// <summary>Where a <c>J DLVR</c> header is written, reused for every one (the send copies it, or holds a copy).</summary>
    private byte[] _header = new byte[DeliveryHeader.MaxLength(Channel.MaxLength, 512)];
    private readonly List<LocalCell> _dirty = [];
    private readonly List<LocalCell> _backlogged = [];
    private readonly List<LocalCell> _retrying = [];
    private readonly long _fullQueueGraceTicks;
    private readonly long _slowCellPauseTicks;
    private readonly long _slowNoticeTicks;

    /// <summary>
    /// <paramref name="gone"/> is told when a send finds a cell's connection gone (the cell's session is then ended): a
    /// delegate, since the session lifecycle sits above the output.
    /// </summary>
    public CellOutput(IFrameSender sender, TransmitterOptions options, TransmitterCounters counters, StallAwareClock clock,
        LogLimiter warnings, ILogger log, CreditPacer credit, Action<LocalCell> gone)
    {
        _sender = sender;
        _options = options;
        _counters = counters;
        _clock = clock;
        _warnings = warnings;
        _log = log;
        _credit = credit;
        _gone = gone;
        _fullQueueGraceTicks = clock.TicksOf(options.FullQueueGrace);
        _slowCellPauseTicks = clock.TicksOf(SlowCellPause);
        _slowNoticeTicks = clock.TicksOf(SlowNoticeInterval);
    }

    /// <summary>True while some cell has a backlog: the routing thread retries it every millisecond.</summary>
    public bool HasBacklog => _backlogged.Count > 0;

    /// <summary>Set when the transmitter shuts down: no new backlogs.</summary>
    public bool ShuttingDown { get; set; }

    /// <summary>
    /// Hands an event to a cell: a record in its batch (binary cells), or a <c>J DLVR</c> sent now. A delivery into a
    /// backlog pauses the credit of the publisher being routed for.
    /// </summary>
    public void Deliver(LocalCell cell, in EventData e, in AnycatchFields anycatch)
    {
        if (cell.Closed)
        {
            Dropped(cell, 1);
            return;
        }

        _credit.PauseFor(cell);
        var output = cell.Output;
        if (cell.AcceptsBinary)
        {
            // A frame stays within BatchBytes (one record larger than that goes alone): the cell keeps each received
            // frame's buffer for the events' bodies, and a frame just over a power of two would cost it twice the memory.
            var size = DeliveryRecordWriter.SizeOf(e.Channel.Length, anycatch.Tag != 0, e.Extension.Length, e.Body.Length);
            if (!output.Deliveries.IsEmpty && output.Deliveries.Length + size > _options.BatchBytes)
            {
                Flush(cell);
            }

            DeliveryRecordWriter.Write(output.Deliveries, e.OriginToken, e.OriginId, e.Sequence, e.ChannelToken, e.Channel, anycatch, e.Extension, e.Body);
            output.Deliveries.RecordWritten();
            MarkDirty(cell);
            return;
        }

        // A dead letter keeps its event's THID, which hashes the channel it was published on, not $DLQ.<service>
        // (PROTOCOL.md §4.3, §5.5): the same id a B reader computes from origin, seq, deadLetter.channel and body.
        var id = DeliveryMessage.IdOf(e.Origin, e.Sequence, e.Channel, e.Body, e.DeadLetter?.Details);
        var extension = e.Extension;
        var needed = DeliveryHeader.MaxLength(e.Channel.Length, extension.Length);
        if (_header.Length < needed)
        {
            _header = new byte[Math.Max(needed, 2 * _header.Length)];
        }

        var headerLength = DeliveryHeader.Write(_header, e.Channel, id, e.Origin, e.Sequence, anycatch, extension);
        ReportMissed(cell);
        var outcome = SendToCell(cell, _header.AsSpan(0, headerLength), e.Body, twoFrames: true, HeldKind.Deliveries, 1);
        if (outcome != SendOutcome.Sent)
        {
            Dropped(cell, 1, outcome);
        }
    }

    /// <summary>Confirms an event to its publisher (<c>ACPT</c>): batched for binary cells, sent now otherwise.</summary>
    public void Accept(LocalCell origin, ulong sequence, uint receivers)
    {
        if (origin.Closed)
        {
            return;
        }

        if (origin.AcceptsBinary)
        {
            AcceptRecord.Write(origin.Output.Accepts, sequence, receivers);
            origin.Output.Accepts.RecordWritten();
            MarkDirty(origin);
            return;
        }

        Send(origin, new AcceptMessage(sequence, receivers).ToFrame());
    }

    /// <summary>
    /// Tells a publisher an event completed (<c>DONE</c>): batched for binary cells; a dead-lettered outcome always
    /// travels as J, naming the service that gave up and why (§5.14): the binary record has no room for it, and dead
    /// letters are rare.
    /// </summary>
    public void Done(LocalCell origin, CompletionWaiter waiter)
    {
        TransmitterCounters.Increment(ref _counters.Completions);
        if (origin.AcceptsBinary && waiter.DeadLetter is null)
        {
            DoneRecord.Write(origin.Output.Completions, waiter.Sequence, waiter.Receivers, waiter.Outcome);
            origin.Output.Completions.RecordWritten();
            MarkDirty(origin);
            return;
        }

        Send(origin, new DoneMessage(waiter.Sequence, waiter.Receivers, waiter.Outcome) { DeadLetter = waiter.DeadLetter?.Details }.ToFrame());
    }

    /// <summary>Sends one frame (an answer, a notice) to a cell after what is already batched for it, so the cell sees things in order.</summary>
    public void Send(LocalCell cell, ReadOnlySpan<byte> frame)
    {
        if (cell.Closed)
        {
            TransmitterCounters.Increment(ref _counters.RepliesDropped);
            return;
        }

        if (cell.Output.Dirty)
        {
            Flush(cell);
        }

        var outcome = SendToCell(cell, frame, default, twoFrames: false, HeldKind.Reply, 1);
        if (outcome != SendOutcome.Sent)
        {
            TransmitterCounters.Increment(ref _counters.RepliesDropped);
            cell.Output.UnreportedReplies++;
            if (outcome == SendOutcome.Gone)
            {
                _gone(cell);
            }
        }
    }

    /// <summary>Sends one frame to a connection without a session (an <c>ERRR</c> before <c>HELO</c>); counted if it cannot go.</summary>
    public void SendUnwelcomed(ReadOnlySpan<byte> routingId, ReadOnlySpan<byte> frame)
    {
        if (_sender.Send(routingId.ToArray(), frame) != SendOutcome.Sent)
        {
            TransmitterCounters.Increment(ref _counters.RepliesDropped);
        }
    }

    /// <summary>End of a burst: sends everything batched for each cell during it.</summary>
    public void FlushDirty()
    {
        // Flush may end a session (peer gone) but never adds to _dirty while we walk it.
        for (var i = 0; i < _dirty.Count; i++)
        {
            var cell = _dirty[i];
            if (cell.Output.Dirty && !cell.Closed)
            {
                Flush(cell);
            }

            cell.Output.Dirty = false;
        }

        _dirty.Clear();
    }

    /// <summary>
    /// Sends what waits in each cell's backlog while its queue takes it. A cell whose backlog took nothing for a whole
    /// grace is slow: what waits is dropped, counted by kind, and its waiting publishers are freed. <paramref name="giveUp"/>
    /// (shutting down) drops what is left without judging anybody.
    /// </summary>
    public void RetryBacklogs(bool giveUp = false)
    {
        var now = _clock.Now;
        // A snapshot: a send can find a connection gone, and ending that session (with the redeliveries it makes)
        // removes cells from the list and adds others to it while we walk it.
        // Cells leave the list by their flag, and the list is compacted once after the walk: searching it per cell
        // would cost the square of the backlogged cells every millisecond (a fan-out whose queues fill together).
        _retrying.Clear();
        _retrying.AddRange(_backlogged);
        foreach (var cell in _retrying)
        {
            if (cell.Closed || !cell.Output.InBacklogList)
            {
                continue;
            }

            var output = cell.Output;
            var before = output.Backlog.Count;
            var still = SendBacklog(cell);
            if (output.Backlog.Count < before)
            {
                output.LastProgress = now; // the queue is draining: the cell is behind, not stuck
                output.FullSince = still ? now : 0;
            }

            if (still && !giveUp && now - output.LastProgress < _fullQueueGraceTicks)
            {
                continue;
            }

            cell.Output.InBacklogList = false;
            if (cell.Closed)
            {
                continue; // its connection was gone: ending the session dropped and counted its backlog
            }

            if (output.Backlog.Count == 0)
            {
                output.SlowStreak = 0;
                ReportMissed(cell);
                _credit.ReleaseWaiters(cell);
                continue;
            }

            if (!giveUp)
            {
                // Each verdict in a row keeps the cell from building a backlog twice as long, up to a limit.
                var pause = _slowCellPauseTicks << Math.Min(output.SlowStreak++, MaxSlowDoublings);
                output.SlowUntil = now + pause;
                TransmitterCounters.Increment(ref _counters.SlowVerdicts);
                if (_warnings.Allow(WarningKind.SlowCell))
                {
                    _log.Warning("Cell {CellId} of {Service} took nothing from its backlog of {Frames} frames for {Grace}; dropping them, and its full queue drops at once for {Pause}",
                        cell.Id, cell.Service, output.Backlog.Count, _options.FullQueueGrace, _clock.SpanOf(pause));
                }
            }

            DropBacklog(cell);
            _credit.ReleaseWaiters(cell);
        }

        _retrying.Clear();
        _backlogged.RemoveAll(static c => !c.Output.InBacklogList);
    }

    /// <summary>
    /// Tells a cell what was dropped for it (<c>SLOW</c>), at most once per <see cref="SlowNoticeInterval"/>: a cell that
    /// keeps overflowing would otherwise get a JSON notice after every burst, frames that take room in the very queue
    /// that overflowed and that it must parse instead of events. The counts accumulate in between. A notice never waits
    /// in the backlog (§8.2): behind it, it waits for the next try, so its count cannot be lost with the backlog. Sending
    /// it is also what shows whether a full queue takes anything at all.
    /// </summary>
    public void ReportMissed(LocalCell cell)
    {
        var output = cell.Output;
        if ((output.UnreportedMissed == 0 && output.UnreportedReplies == 0) || cell.Closed || output.Backlog.Count > 0
            || (output.LastSlowNotice != 0 && _clock.Now - output.LastSlowNotice < _slowNoticeTicks))
        {
            return;
        }

        var notice = new SlowMessage(output.UnreportedMissed, output.TotalMissed) { Replies = output.UnreportedReplies };
        if (_sender.Send(cell.RoutingId, notice.ToFrame()) == SendOutcome.Sent)
        {
            output.UnreportedMissed = 0;
            output.UnreportedReplies = 0;
            output.LastSlowNotice = _clock.Now;
            output.FullSince = 0;
        }
    }

    /// <summary>True when the cell's queue has taken nothing (not even a <c>SLOW</c>) for <paramref name="ticks"/>: it is not reading.</summary>
    public bool Stuck(LocalCell cell, long ticks) => cell.Output.FullSince != 0 && _clock.Now - cell.Output.FullSince > ticks;

    /// <summary>
    /// Hands a multicatch event to each of <paramref name="cells"/> (a plan's local cells); one that is away counts it
    /// missed instead. Returns the number of cells it went to.
    /// </summary>
    public uint DeliverToEach(LocalCell[] cells, in EventData e)
    {
        uint delivered = 0;
        foreach (var cell in cells)
        {
            if (cell.Closed)
            {
                MissedWhileAway(cell);
                continue;
            }

            Deliver(cell, e, AnycatchFields.Multicatch);
            delivered++;
        }

        return delivered;
    }

    /// <summary>Deliveries a cell that is away missed (its departed session's subscriptions count them, §5.2).</summary>
    public void MissedWhileAway(LocalCell departed)
    {
        TransmitterCounters.Increment(ref _counters.MissedWhileAway);
        departed.Output.UnreportedMissed++;
        departed.Output.TotalMissed++;
    }

    /// <summary>A session ends: what waits for the cell is dropped and counted, and it stops pausing publishers.</summary>
    public void Forget(LocalCell cell)
    {
        if (cell.Output.InBacklogList)
        {
            cell.Output.InBacklogList = false;
            _backlogged.Remove(cell);
        }

        DropBacklog(cell);
        _credit.ReleaseWaiters(cell);
        // What this burst batched for the cell and never sent is lost with the session: counted like the backlog
        // (WLCM.resumed.missed of a takeover or a departed cell's return says it, §5.2).
        var output = cell.Output;
        if (!output.Deliveries.IsEmpty)
        {
            CountMissed(cell, output.Deliveries.Records);
        }

        var confirmations = output.Accepts.Records + output.Completions.Records;
        if (confirmations > 0)
        {
            TransmitterCounters.Add(ref _counters.RepliesDropped, confirmations);
            output.UnreportedReplies += confirmations;
        }

        output.Deliveries.Reset();
        output.Accepts.Reset();
        output.Completions.Reset();
    }

    private void MarkDirty(LocalCell cell)
    {
        if (!cell.Output.Dirty)
        {
            cell.Output.Dirty = true;
            _dirty.Add(cell);
        }
    }

    /// <summary>Sends a cell's batched deliveries and confirmations (a missed-events notice first, if one is owed).</summary>
    private void Flush(LocalCell cell)
    {
        var output = cell.Output;
        output.Dirty = false;
        ReportMissed(cell);
        if (!output.Deliveries.IsEmpty)
        {
            var outcome = SendToCell(cell, output.Deliveries.Frame, default, twoFrames: false, HeldKind.Deliveries, output.Deliveries.Records);
            if (outcome != SendOutcome.Sent)
            {
                Dropped(cell, output.Deliveries.Records, outcome);
            }

            output.Deliveries.Reset();
        }

        SendConfirmations(cell, output.Accepts);
        SendConfirmations(cell, output.Completions);
    }

    private void SendConfirmations(LocalCell cell, FrameBatch batch)
    {
        if (!batch.IsEmpty && !cell.Closed
            && SendToCell(cell, batch.Frame, default, twoFrames: false, HeldKind.Confirmations, batch.Records) != SendOutcome.Sent)
        {
            TransmitterCounters.Add(ref _counters.ConfirmationsDropped, batch.Records);
            cell.Output.UnreportedReplies += batch.Records;
            if (_warnings.Allow(WarningKind.Dropped))
            {
                _log.Warning("Dropped {Count} confirmations for cell {CellId}: its queue is full", batch.Records, cell.Id);
            }
        }

        batch.Reset();
    }

    /// <summary>Counts deliveries that could not be queued for a cell; it is told with SLOW when its queue has room.</summary>
    private void Dropped(LocalCell cell, int count, SendOutcome outcome = SendOutcome.Full)
    {
        CountMissed(cell, count);
        if (_warnings.Allow(WarningKind.Dropped))
        {
            _log.Warning("Dropped {Count} deliveries for cell {CellId} of {Service}: {Reason}",
                count, cell.Id, cell.Service, outcome == SendOutcome.Gone ? "its connection is gone" : "it is not keeping up (queue full)");
        }

        if (outcome == SendOutcome.Gone)
        {
            _gone(cell);
        }
    }

    /// <summary>Deliveries lost for a cell: counted, and told to it with the next <c>SLOW</c>.</summary>
    private void CountMissed(LocalCell cell, long count)
    {
        TransmitterCounters.Add(ref _counters.DeliveriesDropped, count);
        cell.Output.UnreportedMissed += count;
        cell.Output.TotalMissed += count;
    }

    /// <summary>
    /// Sends to a cell in order behind its backlog; a full queue starts the backlog, unless the cell was judged slow
    /// or the backlog is at its bound. <see cref="SendOutcome.Sent"/> means queued, now or in the backlog.
    /// </summary>
    private SendOutcome SendToCell(LocalCell cell, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool twoFrames, HeldKind kind, int records)
    {
        var output = cell.Output;
        if (output.Backlog.Count == 0)
        {
            var outcome = twoFrames ? _sender.Send(cell.RoutingId, first, second) : _sender.Send(cell.RoutingId, first);
            if (outcome == SendOutcome.Sent)
            {
                output.FullSince = 0;
                return outcome;
            }

            if (outcome == SendOutcome.Gone)
            {
                return outcome;
            }

            if (output.FullSince == 0)
            {
                output.FullSince = _clock.Now;
            }

            if (!MayBacklog(cell))
            {
                return SendOutcome.Full;
            }

            output.LastProgress = _clock.Now;
            output.InBacklogList = true;
            _backlogged.Add(cell);
            TransmitterCounters.Increment(ref _counters.Backlogs);
        }
        else if (output.BacklogBytes + first.Length + second.Length > _options.MaxCellBacklogBytes)
        {
            return SendOutcome.Full; // progressing, but behind by more than it may be: the overflow is dropped (and told)
        }

        output.Backlog.Enqueue(HeldFrame.Of(first, second, twoFrames, kind, records));
        output.BacklogBytes += first.Length + second.Length;
        return SendOutcome.Sent;
    }

    private bool MayBacklog(LocalCell cell) => _fullQueueGraceTicks > 0 && !ShuttingDown && !cell.Closed && _clock.Now >= cell.Output.SlowUntil;

    /// <summary>Sends backlogged frames in order until the queue is full again; true while some still wait.</summary>
    private bool SendBacklog(LocalCell cell)
    {
        var output = cell.Output;
        while (output.Backlog.TryPeek(out var frame))
        {
            var outcome = frame.TwoFrames ? _sender.Send(cell.RoutingId, frame.First, frame.Second) : _sender.Send(cell.RoutingId, frame.First);
            if (outcome == SendOutcome.Full)
            {
                return true;
            }

            if (outcome == SendOutcome.Gone)
            {
                // The frame stays queued so that ending the session counts it with the rest.
                _gone(cell);
                return false;
            }

            output.Backlog.Dequeue();
            output.BacklogBytes -= frame.Length;
            frame.Release();
        }

        return false;
    }

    /// <summary>Drops a cell's backlog, counting each frame as what it carried.</summary>
    private void DropBacklog(LocalCell cell)
    {
        var output = cell.Output;
        while (output.Backlog.TryDequeue(out var frame))
        {
            switch (frame.Kind)
            {
                case HeldKind.Deliveries:
                    CountMissed(cell, frame.Records);
                    break;
                case HeldKind.Confirmations:
                    TransmitterCounters.Add(ref _counters.ConfirmationsDropped, frame.Records);
                    output.UnreportedReplies += frame.Records;
                    break;
                default:
                    TransmitterCounters.Increment(ref _counters.RepliesDropped);
                    output.UnreportedReplies++;
                    break;
            }

            frame.Release();
        }

        output.BacklogBytes = 0;
    }
}
