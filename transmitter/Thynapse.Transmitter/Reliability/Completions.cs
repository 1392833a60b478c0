using Thynapse.Core;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// Publishers waiting for an event's completion (PROTOCOL.md §5.14): the events in progress, and those completed
/// recently, so that a resend after a reconnect is answered with its <c>DONE</c> instead of being routed twice (§4.5).
/// Routing thread only; the tracker completes them.
/// </summary>
internal sealed class Completions(CellOutput output, CellDirectory directory)
{
    private readonly Dictionary<(Thid, ulong), CompletionWaiter> _inProgress = [];
    private readonly RecentCompletions _recent = new(65_536);

    /// <summary>A resend of an event already in progress or recently completed is not routed again: true when it was one.</summary>
    public bool TryAnswerKnown(LocalCell origin, ulong sequence)
    {
        if (_inProgress.ContainsKey((origin.Id, sequence)))
        {
            return true; // still in progress: DONE goes to whichever session the origin has when it completes
        }

        if (_recent.TryGet(origin.Id, sequence, out var done))
        {
            output.Done(origin, done);
            return true;
        }

        return false;
    }

    /// <summary>Waits for an event's acknowledging deliveries to end, or answers at once when it has none.</summary>
    public void Track(CompletionWaiter waiter)
    {
        if (waiter.Outstanding == 0)
        {
            Complete(waiter);
        }
        else if (!waiter.Done)
        {
            _inProgress[(waiter.Origin, waiter.Sequence)] = waiter;
        }
    }

    /// <summary>The event's deliveries are over: its publisher is told (<c>DONE</c>) on whichever session it has now.</summary>
    public void Complete(CompletionWaiter waiter)
    {
        if (waiter.Done)
        {
            return;
        }

        waiter.Done = true;
        _inProgress.Remove((waiter.Origin, waiter.Sequence));
        _recent.Add(waiter);
        if (directory.TryGetById(waiter.Origin, out var origin))
        {
            output.Done(origin, waiter);
        }
    }
}
