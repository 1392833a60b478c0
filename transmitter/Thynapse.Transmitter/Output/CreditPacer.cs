using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Output;

/// <summary>
/// Publishing credit (PROTOCOL.md §8.4): counts each <c>EVNT</c> message against its publisher, tops publishers up at
/// the end of each burst, and pauses a publisher that keeps sending to a cell with a backlog until that backlog has
/// drained. Routing thread only.
/// </summary>
/// <remarks>
/// Measured on the bench's row 8 (100 publishers towards one cell): holding everyone's input gave 1.31M events/s with
/// 86k deliveries dropped per round; credit with a 16 MiB pool, each cell starting at its full window, 1.22M/s with
/// 3.6–4.3M dropped (the paused publishers' credit alone overflowed the backlog); an 8 MiB pool with 64 KiB first
/// windows 1.89M/s with none dropped; no credit at all 239k/s.
/// </remarks>
internal sealed class CreditPacer(IFrameSender sender, TransmitterOptions options, TransmitterCounters counters)
{
    /// <summary>The smallest and largest window a publisher is given; every publisher starts with the smallest.</summary>
    internal const int MinWindow = 64 * 1024, MaxWindow = 4 * 1024 * 1024;

    private readonly List<LocalCell> _crediting = [];
    private readonly List<LocalCell> _owed = [];
    private int _publishers;

    /// <summary>The publisher whose event is being routed (null otherwise): deliveries into a backlog pause its credit.</summary>
    public LocalCell? RoutingFor { get; set; }

    /// <summary>True while credit is owed to a publisher whose queue was full: it is retried every millisecond.</summary>
    public bool HasOwed => _owed.Count > 0;

    /// <summary>Counts an <c>EVNT</c> message against its publisher's credit.</summary>
    public void Use(LocalCell publisher, int bytes)
    {
        var output = publisher.Output;
        if (!output.UsesCredit)
        {
            return;
        }

        if (!output.HasPublished)
        {
            output.HasPublished = true;
            _publishers++;
        }

        if (output.CreditUsed == 0)
        {
            _crediting.Add(publisher);
        }

        output.CreditUsed += bytes;
    }

    /// <summary>
    /// A delivery to <paramref name="receiver"/>: if it has a backlog, the publisher being routed for (if it uses credit)
    /// gets no more credit until the backlog has drained or the cell was judged slow.
    /// </summary>
    public void PauseFor(LocalCell receiver)
    {
        if (RoutingFor is { Output.UsesCredit: true } publisher && receiver.Output.Backlog.Count > 0 && receiver.Output.CreditWaiters.Add(publisher))
        {
            publisher.Output.CreditBlocks++;
            TransmitterCounters.Increment(ref counters.CreditPauses);
        }
    }

    /// <summary>A cell's backlog drained, or it was judged slow, or it is gone: the publishers waiting for it get their credit.</summary>
    public void ReleaseWaiters(LocalCell receiver)
    {
        var waiters = receiver.Output.CreditWaiters;
        if (waiters.Count == 0)
        {
            return;
        }

        foreach (var publisher in waiters)
        {
            if (--publisher.Output.CreditBlocks == 0 && !publisher.Closed)
            {
                Grant(publisher);
            }
        }

        waiters.Clear();
    }

    /// <summary>End of a burst: publishers that used half their window or more get it topped up, unless paused.</summary>
    public void GrantAll()
    {
        for (var i = 0; i < _crediting.Count; i++)
        {
            var publisher = _crediting[i];
            if (!publisher.Closed && publisher.Output.CreditBlocks == 0)
            {
                Grant(publisher);
            }
        }

        _crediting.RemoveAll(p => p.Closed || p.Output.CreditUsed == 0);
    }

    /// <summary>Sends the credit still owed to publishers whose queues were full.</summary>
    public void RetryOwed()
    {
        for (var i = _owed.Count - 1; i >= 0; i--)
        {
            var publisher = _owed[i];
            if (publisher.Closed)
            {
                _owed.RemoveAt(i);
                continue;
            }

            SendOwed(publisher);
        }
    }

    /// <summary>
    /// The credit a cell starts with (<c>WLCM.credit</c>): the smallest window, whatever the pool; it gets its share
    /// with its first top-up, so that cells joining together before any of them published do not each start with a
    /// window sized for one publisher.
    /// </summary>
    public static long Start(LocalCell cell)
    {
        cell.Output.UsesCredit = true;
        cell.Output.Credit = MinWindow;
        return MinWindow;
    }

    /// <summary>A session ends: it stops being counted as a publisher, and nothing more is owed to it.</summary>
    public void Forget(LocalCell cell)
    {
        if (cell.Output.HasPublished)
        {
            _publishers--;
        }

        _owed.Remove(cell);
    }

    /// <summary>
    /// Tops a publisher's credit up to its window, once it is down to half of it: grants go out in runs, not one per
    /// frame. The window is the transmitter's credit pool shared by its publishing cells (within bounds), so that many
    /// publishers paused on one cell cannot together flood its backlog.
    /// </summary>
    private void Grant(LocalCell publisher)
    {
        var output = publisher.Output;
        var window = Window();
        var left = output.Credit - output.CreditUsed;
        if (left > window / 2 && output.CreditOwed == 0)
        {
            return;
        }

        output.Credit = left;
        output.CreditUsed = 0;
        output.CreditOwed += Math.Max(0, window - left - output.CreditOwed);
        SendOwed(publisher);
    }

    private long Window() => Math.Clamp(options.PublishCreditBytes / Math.Max(1, _publishers), MinWindow, MaxWindow);

    /// <summary>
    /// Sends a publisher the credit owed to it. Credit is never dropped (the publisher would wait for it forever): when
    /// its queue is full it stays owed and is retried with the backlogs. It may overtake what waits in the publisher's
    /// own backlog, which nothing depends on.
    /// </summary>
    private void SendOwed(LocalCell publisher)
    {
        var output = publisher.Output;
        if (output.CreditOwed == 0 || publisher.Closed)
        {
            return;
        }

        var frame = new CreditMessage(output.CreditOwed).ToFrame();
        if (sender.Send(publisher.RoutingId, frame) == SendOutcome.Sent)
        {
            output.Credit += output.CreditOwed;
            output.CreditOwed = 0;
            _owed.Remove(publisher);
        }
        else if (!_owed.Contains(publisher))
        {
            _owed.Add(publisher);
        }
    }
}
