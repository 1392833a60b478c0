using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Commands;

/// <summary>
/// Output to cells, and holding input while a cell's queue is full (PROTOCOL.md §8.2).
/// </summary>
/// <remarks>
/// A full queue does not always mean a slow cell. The transmitter's one NetMQ I/O thread serves its connections in
/// turn, so a hundred busy publishers leave the single connection towards their receiver one turn in a hundred:
/// its queue fills while the receiver idles. Dropping then loses events nobody needed to lose. Instead the routing
/// thread keeps the frame, stops reading input (TCP then pushes back on the publishers) and retries every
/// millisecond; the I/O thread, with nothing coming in, drains the queue. A cell that takes nothing for
/// <see cref="TransmitterOptions.FullQueueGrace"/> is slow: its held frames are dropped and counted, it is told with
/// <c>SLOW</c>, and for <see cref="SlowCellHoldPause"/> (doubling with each such hold in a row) its full queue drops
/// at once instead of holding everyone.
/// </remarks>
internal sealed partial class CommandProcessor
{
    /// <summary>How long a cell that let the grace pass is dropped for at once rather than holding input again.</summary>
    internal static readonly TimeSpan SlowCellHoldPause = TimeSpan.FromSeconds(1);

    /// <summary>
    /// One hold of input lasts at most this many graces (and never past half the liveness timeout, or cells waiting
    /// for their beats to be answered would give up on the transmitter), however the cells behind it progress.
    /// </summary>
    private const int MaxHoldGraces = 10;

    /// <summary>The pause after holds that ended in drops doubles at most this often (1 s → 32 s).</summary>
    private const int MaxSlowHoldDoublings = 5;

    private readonly List<CellSession> _heldFor = [];
    private long _holdStarted;

    /// <summary>True while frames wait for room in some cell's queue: input is not read until they leave or the grace ends.</summary>
    public bool HoldingInput => _heldFor.Count > 0;

    /// <summary>
    /// Sends to a cell in order behind whatever is held for it; a full queue holds a copy of the frame when the cell
    /// may hold input. <see cref="SendOutcome.Sent"/> means queued, now or behind held frames.
    /// </summary>
    private SendOutcome SendToCell(CellSession session, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool twoFrames, HeldKind kind, int records)
    {
        if (session.Held.Count == 0)
        {
            var outcome = twoFrames ? _sender.Send(session.RoutingId, first, second) : _sender.Send(session.RoutingId, first);
            if (outcome != SendOutcome.Full || !MayHold(session))
            {
                return outcome;
            }

            StartHolding(session);
        }

        session.Held.Enqueue(HeldFrame.Of(first, second, twoFrames, kind, records));
        return SendOutcome.Sent;
    }

    private bool MayHold(CellSession session) => _fullQueueGraceTicks > 0 && !_shuttingDown && !session.Closed && _now >= session.HoldAgainAt;

    private void StartHolding(CellSession session)
    {
        // Not _now: that was taken when the burst began, and a long burst would eat into the grace.
        var now = _options.TimeProvider.GetTimestamp();
        if (_heldFor.Count == 0)
        {
            _holdStarted = now;
            TransmitterCounters.Increment(ref _counters.InputHolds);
        }

        session.HeldSince = now;
        _heldFor.Add(session);
    }

    /// <summary>
    /// Sends what is held for each cell while its queue takes it. A cell that took nothing for a whole grace, or
    /// still has frames held ten graces after this hold of input began, loses what is held, counted by kind;
    /// <paramref name="giveUp"/> (shutting down) drops what is left without judging the cells slow.
    /// </summary>
    public void RetryHeld(long now, bool giveUp = false)
    {
        if (_heldFor.Count == 0)
        {
            return;
        }

        _now = now;
        for (var i = _heldFor.Count - 1; i >= 0; i--)
        {
            var session = _heldFor[i];
            var before = session.Held.Count;
            var still = SendHeld(session);
            if (session.Held.Count < before)
            {
                // Progress: the queue is draining, so the cell is behind rather than stuck.
                session.HeldSince = now;
            }

            if (still && !giveUp && now - session.HeldSince < _fullQueueGraceTicks && now - _holdStarted < _maxHoldTicks)
            {
                continue;
            }

            _heldFor.RemoveAt(i);
            if (session.Held.Count == 0)
            {
                session.SlowHolds = 0;
                continue;
            }

            if (giveUp)
            {
                DropHeld(session);
                continue;
            }

            // Each hold in a row that ends like this keeps the cell from holding input twice as long, up to a limit.
            var pause = _slowCellHoldPauseTicks << Math.Min(session.SlowHolds++, MaxSlowHoldDoublings);
            session.HoldAgainAt = now + pause;
            if (_peerWarnings.Allow())
            {
                _log.Warning("Cell {CellId} of {Service} did not take its {Frames} held frames in time; dropping them, and it holds no input for {Pause}",
                    session.Id, session.Service, session.Held.Count, _options.TimeProvider.GetElapsedTime(0, pause));
            }

            DropHeld(session);
        }

        if (_heldFor.Count == 0)
        {
            TransmitterCounters.Add(ref _counters.InputHeldTicks, now - _holdStarted);
        }
    }

    /// <summary>Sends held frames in order until the queue is full again; true while some are still held.</summary>
    private bool SendHeld(CellSession session)
    {
        while (session.Held.TryPeek(out var frame))
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

            session.Held.Dequeue();
            frame.Release();
        }

        return false;
    }

    /// <summary>Drops what is held for a cell, counting each frame as what it carried.</summary>
    private void DropHeld(CellSession session)
    {
        while (session.Held.TryDequeue(out var frame))
        {
            switch (frame.Kind)
            {
                case HeldKind.Deliveries:
                    TransmitterCounters.Add(ref _counters.DeliveriesDropped, frame.Records);
                    session.UnreportedMissed += frame.Records;
                    session.TotalMissed += frame.Records;
                    break;
                case HeldKind.Confirmations:
                    TransmitterCounters.Add(ref _counters.ConfirmationsDropped, frame.Records);
                    break;
                default:
                    TransmitterCounters.Increment(ref _counters.RepliesDropped);
                    break;
            }

            frame.Release();
        }
    }
}
