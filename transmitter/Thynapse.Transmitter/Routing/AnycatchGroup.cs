namespace Thynapse.Transmitter.Routing;

/// <summary>
/// The cells of one service that anycatch a channel; <see cref="Choose"/> picks the one that gets an event:
/// the least in-flight deliveries, ties broken round-robin (PROTOCOL.md §4.2).
/// </summary>
internal sealed class AnycatchGroup(string service, Subscription[] candidates)
{
    private int _cursor;

    public string Service { get; } = service;

    /// <summary>One subscription per distinct cell (the first that matched).</summary>
    public Subscription[] Candidates { get; } = candidates;

    public Subscription Choose()
    {
        var candidates = Candidates;
        var n = candidates.Length;
        var start = _cursor;
        var best = start;
        var bestInFlight = candidates[start].InFlight;
        for (var i = 1; i < n && bestInFlight > 0; i++)
        {
            var index = start + i;
            if (index >= n)
            {
                index -= n;
            }

            var inFlight = candidates[index].InFlight;
            if (inFlight < bestInFlight)
            {
                best = index;
                bestInFlight = inFlight;
            }
        }

        _cursor = best + 1 == n ? 0 : best + 1;
        return candidates[best];
    }
}
