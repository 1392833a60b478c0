using Thynapse.Core;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// A route plan narrowed by one target (query and service): the multicatch cells it admits — with a selector,
/// only each service's best — and each anycatch group's eligible subscriptions. Cached on the plan per target and
/// valid while no cell's metadata changes (<see cref="MetadataEpoch"/>), so a stream of events with the same target
/// pays the metadata evaluation once instead of once per cell per event.
/// </summary>
internal sealed class TargetedPlan(Receiver[] multicatch, Subscription[][] anycatch, long metadataEpoch)
{
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
            var best = new Dictionary<string, (Receiver Cell, double Key)>(StringComparer.Ordinal);
            foreach (var cell in plan.Multicatch)
            {
                if (target.Admits(cell) && selector.TryGetKey(cell.Metadata, out var key)
                    && (!best.TryGetValue(cell.Service, out var current) || (selector.Kind == SelectorKind.Min ? key < current.Key : key > current.Key)))
                {
                    best[cell.Service] = (cell, key);
                }
            }

            multicatch.AddRange(best.Values.Select(b => b.Cell));
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
}
