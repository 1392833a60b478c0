using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Who receives an event on one channel, computed once per channel and cached until a subscription changes:
/// every multicatch cell, and one group of anycatch candidates per service.
/// </summary>
internal sealed class RoutePlan(CellSession[] multicatch, AnycatchGroup[] anycatch)
{
    public static readonly RoutePlan Empty = new([], []);

    /// <summary>Distinct cells with at least one matching multicatch subscription.</summary>
    public CellSession[] Multicatch { get; } = multicatch;

    /// <summary>One group per service with at least one matching anycatch subscription.</summary>
    public AnycatchGroup[] Anycatch { get; } = anycatch;
}
