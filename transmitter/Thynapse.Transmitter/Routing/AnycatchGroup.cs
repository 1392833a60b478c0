using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// The cells of one service that anycatch a channel; <see cref="Choose"/> picks the one that gets an event:
/// among those with room (prefetch not reached), the fewest in-flight deliveries, ties going to the cell chosen
/// least recently (PROTOCOL.md §4.2).
/// </summary>
/// <remarks>
/// "Least recently chosen" is a stamp on each subscription, not a cursor in this group: groups are rebuilt
/// whenever subscriptions change and differ per channel, and the rotation must hold across all of that.
/// </remarks>
internal sealed class AnycatchGroup(string service, Subscription[] candidates)
{
    private static long _choices;

    public string Service { get; } = service;

    /// <summary>One subscription per distinct cell (the first that matched).</summary>
    public Subscription[] Candidates { get; } = candidates;

    /// <summary>
    /// The subscription to deliver to, or null when no candidate has room. <paramref name="avoid"/> (the cell that
    /// failed the previous attempt) is chosen only when it is the group's only cell.
    /// </summary>
    public Subscription? Choose(CellSession? avoid = null)
    {
        var candidates = Candidates;
        if (candidates.Length == 1)
        {
            var only = candidates[0];
            return only.HasRoom && only.Active ? Stamp(only) : null;
        }

        Subscription? best = null;
        foreach (var candidate in candidates)
        {
            if (!candidate.HasRoom || !candidate.Active || ReferenceEquals(candidate.Session, avoid))
            {
                continue;
            }

            if (best is null
                || candidate.InFlight < best.InFlight
                || (candidate.InFlight == best.InFlight && candidate.Session.LastChosen < best.Session.LastChosen))
            {
                best = candidate;
            }
        }

        return best is null ? null : Stamp(best);
    }

    private static Subscription Stamp(Subscription chosen)
    {
        // Shared by the transmitters of a process (tests run several); only the order of the stamps matters.
        chosen.Session.LastChosen = Interlocked.Increment(ref _choices);
        return chosen;
    }
}
