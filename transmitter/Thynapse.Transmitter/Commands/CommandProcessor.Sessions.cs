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

    /// <summary>The cell's queue stayed full for the liveness timeout: it is not reading.</summary>
    CutOff,
}

internal sealed partial class CommandProcessor
{
    /// <summary>The least time between two <c>SLOW</c> notices to one cell (PROTOCOL.md §8.2).</summary>
    private static readonly TimeSpan SlowNoticeInterval = TimeSpan.FromMilliseconds(100);

    private readonly List<CellSession> _expired = [];
    private readonly List<CellSession> _forgotten = [];

    /// <summary>Counts bursts of inbound messages (each ends with <see cref="FlushDirty"/>): anycatch runs last one at most.</summary>
    private long _burst;

    /// <summary>Sends everything batched during the last burst of inbound messages, then tops up publishers' credit.</summary>
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
        GrantCredits();
    }

    /// <summary>
    /// Periodic work: drop cells silent past the liveness timeout and cells whose queue stayed full as long, retry
    /// owed <c>SLOW</c> notices, forget departed cells, summarise suppressed warnings. <paramref name="rawNow"/> is a
    /// timestamp of the <see cref="TimeProvider"/>; liveness is judged on the routing clock, which does not count time
    /// the routing thread itself was stalled (§4.4).
    /// </summary>
    public void Tick(long rawNow)
    {
        var now = _now = _clock.Advance(rawNow);
        if (_clock.Stalled != TransmitterCounters.Read(ref _counters.RoutingStalledTicks))
        {
            _log.Information("The routing thread did not run for {Stall} (GC, CPU starvation or a stopped process); that time is not counted against any cell",
                _clock.SpanOf(_clock.Stalled - TransmitterCounters.Read(ref _counters.RoutingStalledTicks)));
            Volatile.Write(ref _counters.RoutingStalledTicks, _clock.Stalled);
        }

        foreach (var session in _sessions.All)
        {
            if (session.UnreportedMissed > 0 || session.UnreportedReplies > 0)
            {
                // A burst may end with drops and nothing after it to carry the SLOW: retry until it goes out. Sending
                // it is also what shows whether a full queue takes anything at all.
                ReportMissed(session);
            }

            if (now - session.LastSeen > _livenessTicks || (session.FullSince != 0 && now - session.FullSince > _livenessTicks))
            {
                _expired.Add(session);
            }
        }

        foreach (var session in _expired)
        {
            RemoveSession(session, now - session.LastSeen > _livenessTicks ? SessionEnd.Expired : SessionEnd.CutOff);
        }

        _expired.Clear();
        ForgetDeparted(now);
        _warnings.Tick();
    }

    /// <summary>Tells every cell the transmitter is going away (GBYE, after what is batched for it).</summary>
    public void Shutdown()
    {
        _shuttingDown = true;
        RetryBacklogs(_options.TimeProvider.GetTimestamp(), giveUp: true);
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
            session.UnreportedReplies += batch.Records;
            if (_warnings.Allow(WarningKind.Dropped))
            {
                _log.Warning("Dropped {Count} confirmations for cell {CellId}: its queue is full", batch.Records, session.Id);
            }
        }

        batch.Reset();
    }

    /// <summary>Counts deliveries that could not be queued for a cell; it is told with SLOW when its queue has room.</summary>
    private void Dropped(CellSession session, int count, SendOutcome outcome = SendOutcome.Full)
    {
        CountMissed(session, count);
        if (_warnings.Allow(WarningKind.Dropped))
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
    /// that overflowed and that it must parse instead of events. The counts accumulate in between. A notice never waits
    /// in the backlog (§8.2): behind it, it waits for the next try, so its count cannot be lost with the backlog.
    /// </summary>
    private void ReportMissed(CellSession session)
    {
        if ((session.UnreportedMissed == 0 && session.UnreportedReplies == 0) || session.Closed || session.Backlog.Count > 0
            || (session.LastSlowNotice != 0 && _now - session.LastSlowNotice < _slowNoticeTicks))
        {
            return;
        }

        var payload = new JObject { ["missed"] = session.UnreportedMissed, ["total"] = session.TotalMissed };
        if (session.UnreportedReplies > 0)
        {
            payload["replies"] = session.UnreportedReplies;
        }

        if (_sender.Send(session.RoutingId, JsonPayload.Frame(Command.Slow, payload)) == SendOutcome.Sent)
        {
            session.UnreportedMissed = 0;
            session.UnreportedReplies = 0;
            session.LastSlowNotice = _now;
            session.FullSince = 0;
        }
    }

    private void RemoveSession(CellSession session, SessionEnd reason)
    {
        if (session.Closed)
        {
            return;
        }

        session.Closed = true;
        session.EndedBy = reason;
        session.EndedAt = _now;
        _sessions.Remove(session);

        // A cell that may come back (it went silent, stopped reading or lost its connection) leaves its multicatch
        // subscriptions behind for a while, routing nothing but counting what it misses, so that it can be told
        // when it re-joins (§5.2 WLCM.resumed).
        var departs = reason is SessionEnd.Expired or SessionEnd.Disconnected or SessionEnd.CutOff && _options.DepartedCellMemory > TimeSpan.Zero;
        foreach (var subscription in session.Subscriptions.Values)
        {
            subscription.Active = false;
            if (!departs || subscription.Mode != Catch.Multi)
            {
                _routes.Remove(subscription);
            }
        }

        RedeliverHeldBy(session, reason switch
        {
            SessionEnd.Left => "its cell left",
            SessionEnd.Expired => "its cell went silent",
            SessionEnd.Resumed => "its cell reconnected",
            SessionEnd.Shutdown => "the transmitter is shutting down",
            SessionEnd.CutOff => "its cell stopped reading",
            _ => "its cell disconnected",
        });
        TransmitterCounters.Add(ref _counters.Subscriptions, -session.Subscriptions.Count);
        TransmitterCounters.Add(ref _counters.Cells, -1);
        ForgetOutput(session);
        session.Deliveries.Reset();
        session.Accepts.Reset();
        session.Completions.Reset();
        ForgetWatches(session);
        if (departs)
        {
            Depart(session);
        }

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
            case SessionEnd.CutOff:
                TransmitterCounters.Increment(ref _counters.CellsCutOff);
                break;
        }

        if (reason is SessionEnd.Expired or SessionEnd.CutOff)
        {
            if (_warnings.Allow(WarningKind.SessionLost))
            {
                _log.Warning(reason == SessionEnd.Expired
                        ? "Cell {CellId} of {Service} was silent for {Liveness}; ended its session and its {Subscriptions} subscriptions"
                        : "Cell {CellId} of {Service} took nothing from its full queue for {Liveness}; ended its session and its {Subscriptions} subscriptions",
                    session.Id, session.Service, _options.LivenessTimeout, session.Subscriptions.Count);
            }
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

    /// <summary>Remembers a session that ended without a goodbye (its multicatch subscriptions stay, counting).</summary>
    private void Depart(CellSession session)
    {
        _departed.Add(session, _forgotten);
        ForgetGhosts();
    }

    private void ForgetDeparted(long now)
    {
        _departed.Expire(now, _forgotten);
        ForgetGhosts();
    }

    private void ForgetGhosts()
    {
        foreach (var ghost in _forgotten)
        {
            RemoveGhostRoutes(ghost);
        }

        _forgotten.Clear();
    }

    private void RemoveGhostRoutes(CellSession ghost)
    {
        foreach (var subscription in ghost.Subscriptions.Values)
        {
            if (subscription.Mode == Catch.Multi)
            {
                _routes.Remove(subscription);
            }
        }
    }
}
