
namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Who receives an event on one channel, computed once per channel and cached until a subscription changes:
/// every multicatch cell, and one group of anycatch candidates per service.
/// </summary>
internal sealed class RoutePlan(byte[] channel, Sessions.LocalCell[] multicatch, Receiver[] remoteMulticatch, AnycatchGroup[] anycatch)
{
    public static readonly RoutePlan Empty = new([], [], [], []);

    /// <summary>The channel's bytes (the cache's key; shared, never written). Empty for <see cref="Empty"/>.</summary>
    public byte[] Channel { get; } = channel;

    /// <summary>
    /// Distinct local cells with at least one matching multicatch subscription: typed as such so that the hot path hands
    /// each event straight to their output (<see cref="Output.CellOutput.DeliverToEach"/>).
    /// </summary>
    public Sessions.LocalCell[] Multicatch { get; } = multicatch;

    /// <summary>Distinct cells of other transmitters (the mesh's replica) with at least one matching multicatch subscription.</summary>
    public Receiver[] RemoteMulticatch { get; } = remoteMulticatch;

    /// <summary>
    /// One group per service with at least one matching anycatch subscription, its candidates the cells of every
    /// transmitter (local and remote alike: the ingress picks one cell across the cluster, PROTOCOL.md §12.11).
    /// </summary>
    public AnycatchGroup[] Anycatch { get; } = anycatch;

    /// <summary>Most targets whose narrowed plans are kept; past this the cache starts over.</summary>
    private const int MaxTargets = 64;

    private Dictionary<(string Query, string? Service), TargetedPlan>? _targeted;

    /// <summary>This plan narrowed by <paramref name="target"/>, computed at most once per metadata epoch.</summary>
    public TargetedPlan Narrow(in EventTarget target, long metadataEpoch)
    {
        if (Multicatch.Length == 0 && RemoteMulticatch.Length == 0 && Anycatch.Length == 0)
        {
            // Nobody to narrow, and no cache to write: Empty is one static instance shared by every transmitter in
            // the process, each on its own routing thread.
            return TargetedPlan.Nobody;
        }

        var key = (target.Query?.ToString() ?? "", target.Service);
        _targeted ??= [];
        if (_targeted.TryGetValue(key, out var narrowed) && narrowed.MetadataEpoch == metadataEpoch)
        {
            return narrowed;
        }

        if (_targeted.Count >= MaxTargets)
        {
            _targeted.Clear();
        }

        narrowed = TargetedPlan.Build(this, target, metadataEpoch);
        _targeted[key] = narrowed;
        return narrowed;
    }
}
