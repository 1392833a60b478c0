using Thynapse.Core;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// A route plan narrowed by one target (query and service): the multicatch cells it admits — with a selector,
/// only each service's best — and each anycatch group's eligible subscriptions. Cached on the plan per target and
/// valid while no cell's metadata changes and no cell joins or leaves (<see cref="MetadataEpoch"/>), so a stream of events with the same target
/// pays the metadata evaluation once instead of once per cell per event.
/// </summary>
internal sealed class TargetedPlan(Receiver[] multicatch, Subscription[][] anycatch, long metadataEpoch)
{
    /// <summary>The narrowing of a plan with no receivers: shared, valid at every epoch.</summary>
    public static readonly TargetedPlan Nobody = new([], [], long.MinValue);

    /// <summary>Receivers of the multicatch part.</summary>
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
            foreach (var cell in plan.Multicatch)
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
            // misses, §5.2 WLCM.resumed) does not compete with live ones: it stays in the plan, to count a miss, only
            // when it would have been the best of its service had it been there.
            var best = new Dictionary<string, (Receiver Cell, double Key)>(StringComparer.Ordinal);
            var bestDeparted = new Dictionary<string, (Receiver Cell, double Key)>(StringComparer.Ordinal);
            foreach (var cell in plan.Multicatch)
            {
                if (target.Admits(cell) && selector.TryGetKey(cell.Metadata, out var key))
                {
                    Keep(cell.Closed ? bestDeparted : best, cell, key, selector.Kind);
                }
            }

            multicatch.AddRange(best.Values.Select(b => b.Cell));
            foreach (var (service, departed) in bestDeparted)
            {
                if (!best.TryGetValue(service, out var live) || Better(departed.Key, live.Key, selector.Kind))
                {
                    multicatch.Add(departed.Cell);
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

    private static void Keep(Dictionary<string, (Receiver Cell, double Key)> best, Receiver cell, double key, SelectorKind kind)
    {
        if (!best.TryGetValue(cell.Service, out var current) || Better(key, current.Key, kind))
        {
            best[cell.Service] = (cell, key);
        }
    }
}
