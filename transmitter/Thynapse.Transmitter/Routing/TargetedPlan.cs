using Thynapse.Core;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// A route plan narrowed by one target (query and service): the multicatch cells it admits, of every transmitter (a
/// remote one gets the event as a delivery to that one cell, PROTOCOL.md §12.11) — with a selector, only each service's
/// best across the cluster — and each anycatch group's eligible subscriptions. Cached on the plan per target and
/// valid while no cell's metadata changes and no cell joins or leaves (<see cref="MetadataEpoch"/>), so a stream of events with the same target
/// pays the metadata evaluation once instead of once per cell per event.
/// </summary>
internal sealed class TargetedPlan(Receiver[] multicatch, Subscription[][] anycatch, long metadataEpoch)
{
    /// <summary>The narrowing of a plan with no receivers: shared, valid at every epoch.</summary>
    public static readonly TargetedPlan Nobody = new([], [], long.MinValue);

    /// <summary>Receivers of the multicatch part, local and remote.</summary>
    public Receiver[] Multicatch { get; } = multicatch;

    /// <summary>Per group of the plan (same index), the subscriptions the target admits.</summary>
    public Subscription[][] Anycatch { get; } = anycatch;

    /// <summary>The metadata epoch this was computed at.</summary>
    public long MetadataEpoch { get; } = metadataEpoch;

    public static TargetedPlan Build(RoutePlan plan, in EventTarget target, long metadataEpoch)
    {
        var multicatch = new List<Receiver>();
        var selector = target.Query?.Selector;
        if (selector is null)
        {
            foreach (var cell in plan.Multicatch.Concat<Receiver>(plan.RemoteMulticatch))
            {
                if (target.Admits(cell))
                {
                    multicatch.Add(cell);
                }
            }
        }
        else
        {
            // Per service, the best live cell receives it. A departed cell (its multicatch kept to count what it
            // misses, §5.2 WLCM.resumed) does not compete with live ones: it stays in the plan, to count a miss, when
            // it would have been chosen had it been there, that is when it beats the best live cell of its service
            // (every departed cell that does, each on its own: none of them is there to take the place of another).
            var best = new Dictionary<string, (Receiver Cell, double Key)>(StringComparer.Ordinal);
            var departed = new List<(Receiver Cell, double Key)>();
            foreach (var cell in plan.Multicatch.Concat<Receiver>(plan.RemoteMulticatch))
            {
                if (target.Admits(cell) && selector.TryGetKey(cell.Metadata, out var key))
                {
                    if (cell.Closed)
                    {
                        departed.Add((cell, key));
                    }
                    else if (!best.TryGetValue(cell.Service, out var current) || Better(key, current.Key, selector.Kind))
                    {
                        best[cell.Service] = (cell, key);
                    }
                }
            }

            multicatch.AddRange(best.Values.Select(b => b.Cell));
            foreach (var (cell, key) in departed)
            {
                if (!best.TryGetValue(cell.Service, out var live) || Better(key, live.Key, selector.Kind))
                {
                    multicatch.Add(cell);
                }
            }
        }

        var anycatch = new Subscription[plan.Anycatch.Length][];
        var eligible = new List<Subscription>();
        for (var g = 0; g < plan.Anycatch.Length; g++)
        {
            var group = plan.Anycatch[g];
            eligible.Clear();
            foreach (var candidate in group.Candidates)
            {
                if (target.Admits(candidate.Receiver))
                {
                    eligible.Add(candidate);
                }
            }

            anycatch[g] = [.. eligible];
        }

        return new TargetedPlan([.. multicatch], anycatch, metadataEpoch);
    }

    private static bool Better(double key, double than, SelectorKind kind) => kind == SelectorKind.Min ? key < than : key > than;
}
