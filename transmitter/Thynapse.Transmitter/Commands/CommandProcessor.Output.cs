using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Commands;

/// <summary>
/// Output to cells: each cell's backlog behind a full queue, slow and stuck cells, and the publishing credit that
/// paces publishers towards a cell with a backlog (PROTOCOL.md §8.2).
/// </summary>
/// <remarks>
/// <para>
/// A full queue does not always mean a slow cell. The transmitter's one NetMQ I/O thread serves its connections in
/// turn, so a hundred busy publishers leave the single connection towards their receiver one turn in a hundred: its
/// queue fills while the receiver idles. So a frame that finds its cell's queue full goes to the cell's own
/// <b>backlog</b> (a bounded copy, retried every millisecond), and what comes for the cell meanwhile queues behind it,
/// in order. Publishers that use credit (<c>HELO.credit</c>) and keep sending to a cell with a backlog get no more
/// credit until it has drained: they pause, the I/O thread gets to the cell's connection, and a cell that keeps up in
/// the end loses nothing. Nobody else waits: input is never held, every other cell keeps being served, liveness and
/// disconnects keep being handled.
/// </para>
/// <para>
/// A cell whose backlog takes nothing for <see cref="TransmitterOptions.FullQueueGrace"/> is slow: its backlog is
/// dropped and counted, it is told with <c>SLOW</c>, the publishers waiting for it get their credit, and for
/// <see cref="SlowCellPause"/> (doubling with each such verdict in a row, up to 32 s) its full queue drops at once.
/// A cell whose queue stays full for the whole liveness timeout is not reading at all: its session is ended, as a
/// silent cell's would be (NATS cuts a slow consumer off the same way).
/// </para>
/// <para>
/// Earlier versions held everyone's input for a full queue instead. Measured (issue 15, finding 11): 16 connections
/// that never read held input ~100% of 30 s and a steady 2,000 events/s flow fell to 0–10/s; even 4 stuck cells held
/// everyone 10 s out of 30.
/// </para>
/// </remarks>
internal sealed partial class CommandProcessor
{
    /// <summary>How long a cell judged slow drops at once instead of building a backlog (doubled per verdict in a row).</summary>
    internal static readonly TimeSpan SlowCellPause = TimeSpan.FromSeconds(1);

    /// <summary>The pause after slow verdicts doubles at most this often (1 s → 32 s).</summary>
    private const int MaxSlowDoublings = 5;

    /// <summary>The smallest and largest publishing window a credit publisher is given (PROTOCOL.md §8.4).</summary>
    internal const int MinCreditWindow = 64 * 1024, MaxCreditWindow = 4 * 1024 * 1024;

    private readonly List<CellSession> _backlogged = [];
    private readonly List<CellSession> _crediting = [];
    private readonly List<CellSession> _creditOwed = [];
    private int _creditPublishers;

    /// <summary>The publisher whose event is being routed (null otherwise): deliveries into a backlog pause its credit.</summary>
    private CellSession? _routingFor;

    /// <summary>True while some cell has a backlog: the routing thread retries it every millisecond.</summary>
    public bool HasBacklog => _backlogged.Count > 0 || _creditOwed.Count > 0;

    /// <summary>
    /// Sends to a cell in order behind its backlog; a full queue starts the backlog, unless the cell was judged slow
    /// or the backlog is at its bound. <see cref="SendOutcome.Sent"/> means queued, now or in the backlog.
    /// </summary>
    private SendOutcome SendToCell(CellSession session, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool twoFrames, HeldKind kind, int records)
    {
        if (session.Backlog.Count == 0)
        {
            var outcome = twoFrames ? _sender.Send(session.RoutingId, first, second) : _sender.Send(session.RoutingId, first);
            if (outcome == SendOutcome.Sent)
            {
                session.FullSince = 0;
                return outcome;
            }

            if (outcome == SendOutcome.Gone)
            {
                return outcome;
            }

            if (session.FullSince == 0)
            {
                session.FullSince = _now;
            }

            if (!MayBacklog(session))
            {
                return SendOutcome.Full;
            }

            session.LastProgress = _now;
            _backlogged.Add(session);
            TransmitterCounters.Increment(ref _counters.Backlogs);
        }
        else if (session.BacklogBytes + first.Length + second.Length > _options.MaxCellBacklogBytes)
        {
            return SendOutcome.Full; // progressing, but behind by more than it may be: the overflow is dropped (and told)
        }

        session.Backlog.Enqueue(HeldFrame.Of(first, second, twoFrames, kind, records));
        session.BacklogBytes += first.Length + second.Length;
        return SendOutcome.Sent;
    }

    private bool MayBacklog(CellSession session) => _fullQueueGraceTicks > 0 && !_shuttingDown && !session.Closed && _now >= session.SlowUntil;

    /// <summary>
    /// Sends what waits in each cell's backlog while its queue takes it, and owed credit. A cell whose backlog took
    /// nothing for a whole grace is slow: what waits is dropped, counted by kind, and its waiting publishers are freed.
    /// <paramref name="giveUp"/> (shutting down) drops what is left without judging anybody.
    /// </summary>
    public void RetryBacklogs(long rawNow, bool giveUp = false)
    {
        _now = _clock.Advance(rawNow);
        for (var i = _backlogged.Count - 1; i >= 0; i--)
        {
            var session = _backlogged[i];
            var before = session.Backlog.Count;
            var still = SendBacklog(session);
            if (session.Backlog.Count < before)
            {
                session.LastProgress = _now; // the queue is draining: the cell is behind, not stuck
                session.FullSince = still ? _now : 0;
            }

            if (still && !giveUp && _now - session.LastProgress < _fullQueueGraceTicks)
            {
                continue;
            }

            _backlogged.RemoveAt(i);
            if (session.Backlog.Count == 0)
            {
                session.SlowStreak = 0;
                ReportMissed(session);
                ReleaseCreditWaiters(session);
                continue;
            }

            if (!giveUp)
            {
                // Each verdict in a row keeps the cell from building a backlog twice as long, up to a limit.
                var pause = _slowCellPauseTicks << Math.Min(session.SlowStreak++, MaxSlowDoublings);
                session.SlowUntil = _now + pause;
                TransmitterCounters.Increment(ref _counters.SlowVerdicts);
                if (_warnings.Allow(WarningKind.SlowCell))
                {
                    _log.Warning("Cell {CellId} of {Service} took nothing from its backlog of {Frames} frames for {Grace}; dropping them, and its full queue drops at once for {Pause}",
                        session.Id, session.Service, session.Backlog.Count, _options.FullQueueGrace, _clock.SpanOf(pause));
                }
            }

            DropBacklog(session);
            ReleaseCreditWaiters(session);
        }

        RetryOwedCredit();
    }

    /// <summary>Sends backlogged frames in order until the queue is full again; true while some still wait.</summary>
    private bool SendBacklog(CellSession session)
    {
        while (session.Backlog.TryPeek(out var frame))
        {
            var outcome = frame.TwoFrames ? _sender.Send(session.RoutingId, frame.First, frame.Second) : _sender.Send(session.RoutingId, frame.First);
            if (outcome == SendOutcome.Full)
            {
                return true;
            }

            if (outcome == SendOutcome.Gone)
            {
                // The frame stays queued so that RemoveSession counts it with the rest.
                RemoveSession(session, SessionEnd.Disconnected);
                return false;
            }

            session.Backlog.Dequeue();
            session.BacklogBytes -= frame.Length;
            frame.Release();
        }

        return false;
    }

    /// <summary>Drops a cell's backlog, counting each frame as what it carried.</summary>
    private void DropBacklog(CellSession session)
    {
        while (session.Backlog.TryDequeue(out var frame))
        {
            switch (frame.Kind)
            {
                case HeldKind.Deliveries:
                    CountMissed(session, frame.Records);
                    break;
                case HeldKind.Confirmations:
                    TransmitterCounters.Add(ref _counters.ConfirmationsDropped, frame.Records);
                    session.UnreportedReplies += frame.Records;
                    break;
                default:
                    TransmitterCounters.Increment(ref _counters.RepliesDropped);
                    session.UnreportedReplies++;
                    break;
            }

            frame.Release();
        }

        session.BacklogBytes = 0;
    }

    /// <summary>Deliveries lost for a cell: counted, and told to it with the next <c>SLOW</c>.</summary>
    private void CountMissed(CellSession session, long count)
    {
        TransmitterCounters.Add(ref _counters.DeliveriesDropped, count);
        session.UnreportedMissed += count;
        session.TotalMissed += count;
    }

    /// <summary>
    /// Routing thread, on each delivery to a cell with a backlog: the publisher being routed for (if it uses credit)
    /// gets no more credit until the backlog has drained or the cell was judged slow.
    /// </summary>
    private void PauseCreditFor(CellSession receiver)
    {
        if (_routingFor is { UsesCredit: true } publisher && receiver.Backlog.Count > 0 && receiver.CreditWaiters.Add(publisher))
        {
            publisher.CreditBlocks++;
            TransmitterCounters.Increment(ref _counters.CreditPauses);
        }
    }

    private void ReleaseCreditWaiters(CellSession receiver)
    {
        if (receiver.CreditWaiters.Count == 0)
        {
            return;
        }

        foreach (var publisher in receiver.CreditWaiters)
        {
            if (--publisher.CreditBlocks == 0 && !publisher.Closed)
            {
                GrantCredit(publisher);
            }
        }

        receiver.CreditWaiters.Clear();
    }

    /// <summary>Counts an <c>EVNT</c> message against its publisher's credit (PROTOCOL.md §8.4).</summary>
    private void UseCredit(CellSession publisher, int bytes)
    {
        if (!publisher.UsesCredit)
        {
            return;
        }

        if (!publisher.HasPublished)
        {
            publisher.HasPublished = true;
            _creditPublishers++;
        }

        if (publisher.CreditUsed == 0)
        {
            _crediting.Add(publisher);
        }

        publisher.CreditUsed += bytes;
    }

    /// <summary>End of a burst: publishers that used half their window or more get it topped up, unless paused.</summary>
    private void GrantCredits()
    {
        for (var i = 0; i < _crediting.Count; i++)
        {
            var publisher = _crediting[i];
            if (!publisher.Closed && publisher.CreditBlocks == 0)
            {
                GrantCredit(publisher);
            }
        }

        _crediting.RemoveAll(p => p.Closed || p.CreditUsed == 0);
    }

    /// <summary>
    /// Tops a publisher's credit up to its window, once it is down to half of it: grants go out in runs, not one per
    /// frame. The window is the transmitter's credit pool shared by its publishing cells (within bounds), so that many
    /// publishers paused on one cell cannot together flood its backlog.
    /// </summary>
    private void GrantCredit(CellSession publisher)
    {
        var window = CreditWindow();
        var left = publisher.Credit - publisher.CreditUsed;
        if (left > window / 2 && publisher.CreditOwed == 0)
        {
            return;
        }

        publisher.Credit = left;
        publisher.CreditUsed = 0;
        publisher.CreditOwed += Math.Max(0, window - left - publisher.CreditOwed);
        SendOwedCredit(publisher);
    }

    private long CreditWindow() =>
        Math.Clamp(_options.PublishCreditBytes / Math.Max(1, _creditPublishers), MinCreditWindow, MaxCreditWindow);

    /// <summary>
    /// Sends a publisher the credit owed to it. Credit is never dropped (the publisher would wait for it forever): when
    /// its queue is full it stays owed and is retried with the backlogs. It may overtake what waits in the publisher's
    /// own backlog, which nothing depends on.
    /// </summary>
    private void SendOwedCredit(CellSession publisher)
    {
        if (publisher.CreditOwed == 0 || publisher.Closed)
        {
            return;
        }

        var frame = JsonPayload.Frame(Command.Cred, new JObject { ["credit"] = publisher.CreditOwed });
        if (_sender.Send(publisher.RoutingId, frame) == SendOutcome.Sent)
        {
            publisher.Credit += publisher.CreditOwed;
            publisher.CreditOwed = 0;
            _creditOwed.Remove(publisher);
        }
        else if (!_creditOwed.Contains(publisher))
        {
            _creditOwed.Add(publisher);
        }
    }

    private void RetryOwedCredit()
    {
        for (var i = _creditOwed.Count - 1; i >= 0; i--)
        {
            var publisher = _creditOwed[i];
            if (publisher.Closed)
            {
                _creditOwed.RemoveAt(i);
                continue;
            }

            SendOwedCredit(publisher);
        }
    }

    /// <summary>A session ends: it stops pausing publishers, and stops being paused or counted as a publisher.</summary>
    private void ForgetOutput(CellSession session)
    {
        _backlogged.Remove(session);
        DropBacklog(session);
        ReleaseCreditWaiters(session);
        if (session.HasPublished)
        {
            _creditPublishers--;
        }

        _creditOwed.Remove(session);
    }
}
