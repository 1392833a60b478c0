using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Commands;

/// <summary>Why a session ended.</summary>
internal enum SessionEnd
{
    /// <summary>The cell said GBYE.</summary>
    Left,

    /// <summary>The cell was silent past the liveness timeout.</summary>
    Expired,

    /// <summary>The cell's connection closed (or its peer vanished under a send).</summary>
    Disconnected,

    /// <summary>The same cell came back on a new connection with its resume token.</summary>
    Resumed,

    /// <summary>The transmitter shut down.</summary>
    Shutdown,
}

internal sealed partial class CommandProcessor
{
    /// <summary>The least time between two <c>SLOW</c> notices to one cell (PROTOCOL.md §8.2).</summary>
    private static readonly TimeSpan SlowNoticeInterval = TimeSpan.FromMilliseconds(100);

    private readonly List<CellSession> _expired = [];
    private long _lastTick;

    /// <summary>Counts bursts of inbound messages (each ends with <see cref="FlushDirty"/>): anycatch runs last one at most.</summary>
    private long _burst;

    /// <summary>Sends everything batched during the last burst of inbound messages.</summary>
    public void FlushDirty()
    {
        _burst++;
        // Flush may remove a session (peer gone) but never adds to _dirty while we walk it.
        for (var i = 0; i < _dirty.Count; i++)
        {
            var session = _dirty[i];
            if (session.Dirty && !session.Closed)
            {
                Flush(session);
            }

            session.Dirty = false;
        }

        _dirty.Clear();
    }

    /// <summary>Periodic work: drop cells silent past the liveness timeout, summarise suppressed warnings.</summary>
    public void Tick(long now)
    {
        _now = now;
        var sinceLastTick = now - _lastTick;
        var paused = _lastTick != 0 && sinceLastTick > _livenessTicks / 2;
        _lastTick = now;
        if (paused)
        {
            // This thread was held up (GC, CPU starvation): the silence may be ours, not the cells'. Give them
            // one more check before expiring anybody.
            _log.Information("The routing thread was paused for {Pause}; liveness checks resume at the next tick",
                TimeSpan.FromSeconds((double)sinceLastTick / _options.TimeProvider.TimestampFrequency));
            _peerWarnings.Tick();
            return;
        }

        foreach (var session in _sessions.All)
        {
            if (now - session.LastSeen > _livenessTicks)
            {
                _expired.Add(session);
            }
            else if (session.UnreportedMissed > 0)
            {
                // A burst may end with drops and nothing after it to carry the SLOW: retry until it goes out.
                ReportMissed(session);
            }
        }

        foreach (var session in _expired)
        {
            RemoveSession(session, SessionEnd.Expired);
        }

        _expired.Clear();
        _peerWarnings.Tick();
    }

    /// <summary>Tells every cell the transmitter is going away (GBYE, after what is batched for it).</summary>
    public void Shutdown()
    {
        _shuttingDown = true;
        RetryHeld(_now, giveUp: true);
        foreach (var session in _sessions.All.ToList())
        {
            Send(session, JsonPayload.Frame(Command.Gbye, new JObject { ["reason"] = "shutdown" }));
            RemoveSession(session, SessionEnd.Shutdown);
        }
    }

    private void MarkDirty(CellSession session)
    {
        if (!session.Dirty)
        {
            session.Dirty = true;
            _dirty.Add(session);
        }
    }

    /// <summary>Sends a cell's batched deliveries and confirmations (a missed-events notice first, if one is owed).</summary>
    private void Flush(CellSession session)
    {
        session.Dirty = false;
        ReportMissed(session);
        if (!session.Deliveries.IsEmpty)
        {
            var outcome = SendToCell(session, session.Deliveries.Frame, default, twoFrames: false, HeldKind.Deliveries, session.Deliveries.Records);
            if (outcome != SendOutcome.Sent)
            {
                Dropped(session, session.Deliveries.Records, outcome);
            }

            session.Deliveries.Reset();
        }

        SendConfirmations(session, session.Accepts);
        SendConfirmations(session, session.Completions);
    }

    private void SendConfirmations(CellSession session, FrameBatch batch)
    {
        if (!batch.IsEmpty && !session.Closed
            && SendToCell(session, batch.Frame, default, twoFrames: false, HeldKind.Confirmations, batch.Records) != SendOutcome.Sent)
        {
            TransmitterCounters.Add(ref _counters.ConfirmationsDropped, batch.Records);
            if (_peerWarnings.Allow())
            {
                _log.Warning("Dropped {Count} confirmations for cell {CellId}: its queue is full", batch.Records, session.Id);
            }
        }

        batch.Reset();
    }

    /// <summary>Counts deliveries that could not be queued for a cell; it is told with SLOW when its queue has room.</summary>
    private void Dropped(CellSession session, int count, SendOutcome outcome = SendOutcome.Full)
    {
        TransmitterCounters.Add(ref _counters.DeliveriesDropped, count);
        session.UnreportedMissed += count;
        session.TotalMissed += count;
        if (_peerWarnings.Allow())
        {
            _log.Warning("Dropped {Count} deliveries for cell {CellId} of {Service}: {Reason}",
                count, session.Id, session.Service, outcome == SendOutcome.Gone ? "its connection is gone" : "it is not keeping up (queue full)");
        }

        if (outcome == SendOutcome.Gone)
        {
            RemoveSession(session, SessionEnd.Disconnected);
        }
    }

    /// <summary>
    /// Tells a cell what was dropped for it (<c>SLOW</c>), at most once per <see cref="SlowNoticeInterval"/>: a cell that
    /// keeps overflowing would otherwise get a JSON notice after every burst, frames that take room in the very queue
    /// that overflowed and that it must parse instead of events. The missed count accumulates in between. A notice is
    /// never held (§8.2): behind held frames it waits for the next try, so its count cannot be lost with them.
    /// </summary>
    private void ReportMissed(CellSession session)
    {
        if (session.UnreportedMissed == 0 || session.Closed || session.Held.Count > 0
            || (session.LastSlowNotice != 0 && _now - session.LastSlowNotice < _slowNoticeTicks))
        {
            return;
        }

        var notice = JsonPayload.Frame(Command.Slow, new JObject { ["missed"] = session.UnreportedMissed, ["total"] = session.TotalMissed });
        if (_sender.Send(session.RoutingId, notice) == SendOutcome.Sent)
        {
            session.UnreportedMissed = 0;
            session.LastSlowNotice = _now;
        }
    }

    private void RemoveSession(CellSession session, SessionEnd reason)
    {
        if (session.Closed)
        {
            return;
        }

        session.Closed = true;
        _sessions.Remove(session);
        foreach (var subscription in session.Subscriptions.Values)
        {
            subscription.Active = false;
            _routes.Remove(subscription);
        }

        RedeliverHeldBy(session, reason switch
        {
            SessionEnd.Left => "its cell left",
            SessionEnd.Expired => "its cell went silent",
            SessionEnd.Resumed => "its cell reconnected",
            SessionEnd.Shutdown => "the transmitter is shutting down",
            _ => "its cell disconnected",
        });
        TransmitterCounters.Add(ref _counters.Subscriptions, -session.Subscriptions.Count);
        TransmitterCounters.Add(ref _counters.Cells, -1);
        DropHeld(session);
        session.Deliveries.Reset();
        session.Accepts.Reset();
        session.Completions.Reset();
        ForgetWatches(session);
        switch (reason)
        {
            case SessionEnd.Left:
                TransmitterCounters.Increment(ref _counters.CellsLeft);
                break;
            case SessionEnd.Expired:
                TransmitterCounters.Increment(ref _counters.CellsExpired);
                break;
            case SessionEnd.Disconnected:
                TransmitterCounters.Increment(ref _counters.CellsDisconnected);
                break;
        }

        if (reason == SessionEnd.Expired)
        {
            _log.Warning("Cell {CellId} of {Service} was silent for {Liveness}; dropped it and its {Subscriptions} subscriptions",
                session.Id, session.Service, _options.LivenessTimeout, session.Subscriptions.Count);
        }
        else if (reason != SessionEnd.Shutdown)
        {
            _log.Information("Cell {CellId} of {Service} {Reason}", session.Id, session.Service, reason switch
            {
                SessionEnd.Left => "left",
                SessionEnd.Resumed => "resumed on a new connection",
                _ => "disconnected",
            });
        }
    }
}
