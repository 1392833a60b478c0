using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// The cells of one service that anycatch a channel; <see cref="Choose"/> picks the one that gets an event:
/// among those with room (prefetch not reached), the fewest in-flight deliveries, ties broken round-robin
/// (PROTOCOL.md §4.2).
/// </summary>
internal sealed class AnycatchGroup(string service, Subscription[] candidates)
{
    private int _cursor;

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
        var n = candidates.Length;
        if (n == 1)
        {
            var only = candidates[0];
            return only.HasRoom && only.Active ? only : null;
        }

        var start = _cursor;
        var best = -1;
        var bestInFlight = int.MaxValue;
        for (var i = 0; i < n && bestInFlight > 0; i++)
        {
            var index = start + i;
            if (index >= n)
            {
                index -= n;
            }

            var candidate = candidates[index];
            if (candidate.InFlight < bestInFlight && candidate.HasRoom && candidate.Active && !ReferenceEquals(candidate.Session, avoid))
            {
                best = index;
                bestInFlight = candidate.InFlight;
            }
        }

        if (best < 0)
        {
            return null;
        }

        _cursor = best + 1 == n ? 0 : best + 1;
        return candidates[best];
    }
}
