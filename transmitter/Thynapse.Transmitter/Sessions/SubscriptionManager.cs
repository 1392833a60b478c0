using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Reliability;
using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// Subscriptions (PROTOCOL.md §5.6): <c>SUBS</c>, <c>UNSB</c> and <c>HELO.subs</c> read and checked, added to the cell's
/// profile and the route table, removed from both. Routing thread only.
/// </summary>
internal sealed class SubscriptionManager(TransmitterOptions options, TransmitterCounters counters, RouteTable routes, AnycatchTracker tracker, Responder responder)
{
    private readonly MessageLimits _limits = options.MessageLimits;

    /// <summary>
    /// A live cell's subscriptions changed (<c>SUBS</c>, <c>UNSB</c>, or one of <c>HELO.subs</c> added): the mesh publishes
    /// the cell's record again, with its whole set of subscriptions at a new version (PROTOCOL.md §12.8).
    /// </summary>
    public event Action<LocalCell>? Changed;

    /// <summary><c>SUBS</c>: answered with <c>OKAY</c>; events accepted after it are routed to the subscription.</summary>
    public void HandleSubscribe(LocalCell cell, JObject request)
    {
        if (!TryRead(request, out var wanted, out var code, out var error))
        {
            responder.Reject(cell.RoutingId, cell, Command.Subs, code, error, request);
            return;
        }

        if (cell.Profile.Subscriptions.ContainsKey(wanted.Id))
        {
            responder.Reject(cell.RoutingId, cell, Command.Subs, ThynapseErrorCode.DuplicateSubscription, $"subscription {wanted.Id} exists; UNSB it first or pick another id", request);
            return;
        }

        if (cell.Profile.Subscriptions.Count >= options.MaxSubscriptionsPerCell)
        {
            responder.Reject(cell.RoutingId, cell, Command.Subs, ThynapseErrorCode.TooManySubscriptions, $"a cell may hold {options.MaxSubscriptionsPerCell} subscriptions", request);
            return;
        }

        var subscription = Add(cell, wanted);
        responder.Reply(cell, new OkayMessage(Command.Subs) { Sub = wanted.Id }, request);
        tracker.RoomFreed(subscription); // work may be waiting in its service's queue
    }

    /// <summary><c>UNSB</c>: no event accepted after the answer is routed to the subscription.</summary>
    public void HandleUnsubscribe(LocalCell cell, JObject request)
    {
        if (!UnsubscribeMessage.TryRead(request, _limits, out var unsubscribe, out var code, out var error))
        {
            responder.Reject(cell.RoutingId, cell, Command.Unsb, code, error, request);
            return;
        }

        var id = unsubscribe.Sub;
        if (!cell.Profile.Subscriptions.Remove(id, out var subscription))
        {
            responder.Reject(cell.RoutingId, cell, Command.Unsb, ThynapseErrorCode.UnknownSubscription, $"this cell has no subscription {id}", request);
            return;
        }

        // Deliveries it holds stay in flight until acknowledged or timed out: the cell may still be handling them.
        subscription.Active = false;
        routes.Remove(subscription);
        TransmitterCounters.Add(ref counters.Subscriptions, -1);
        Changed?.Invoke(cell);
        responder.Reply(cell, new OkayMessage(Command.Unsb) { Sub = id }, request);
    }

    /// <summary>Adds a checked subscription to the cell and the route table.</summary>
    public Subscription Add(LocalCell cell, SubscriptionRequest wanted)
    {
        var subscription = new Subscription(cell, wanted.Id, wanted.Pattern, wanted.Mode, wanted.Acks);
        cell.Profile.Subscriptions.Add(wanted.Id, subscription);
        routes.Add(subscription);
        TransmitterCounters.Add(ref counters.Subscriptions, 1);
        Changed?.Invoke(cell);
        return subscription;
    }

    /// <summary>A session ends: its subscriptions stop matching, except the multicatch ones of a departing cell, which stay to count what it misses (§5.2).</summary>
    public void RemoveAll(LocalCell cell, bool keepMulticatch)
    {
        foreach (var subscription in cell.Profile.Subscriptions.Values)
        {
            subscription.Active = false;
            if (!keepMulticatch || subscription.Mode != Catch.Multi)
            {
                routes.Remove(subscription);
            }
        }

        TransmitterCounters.Add(ref counters.Subscriptions, -cell.Profile.Subscriptions.Count);
    }

    /// <summary>Removes what <see cref="RemoveAll"/> kept of a departed cell.</summary>
    public void RemoveKept(Receiver departed)
    {
        foreach (var subscription in departed.Profile.Subscriptions.Values)
        {
            if (subscription.Mode == Catch.Multi)
            {
                routes.Remove(subscription);
            }
        }
    }

    /// <summary>The subscriptions a <c>HELO</c> carries (checked by <see cref="HelloMessage"/>, §5.1), with the transmitter's defaults.</summary>
    public List<SubscriptionRequest> ForHelo(HelloMessage hello) => hello.Subscriptions is { } subs ? [.. subs.Select(Request)] : [];


    /// <summary>Reads a subscription as in SUBS (<see cref="SubscribeMessage"/>, PROTOCOL.md §5.6).</summary>
    private bool TryRead(
        JObject entry,
        [NotNullWhen(true)] out SubscriptionRequest? subscription,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
    {
        subscription = null;
        if (!SubscribeMessage.TryRead(entry, _limits, out var wanted, out code, out error))
        {
            return false;
        }

        subscription = Request(wanted);
        return true;
    }

    /// <summary>A checked subscription, with the transmitter's defaults for what an acknowledged one leaves out.</summary>
    private SubscriptionRequest Request(SubscribeMessage wanted)
    {
        AckSettings? acks = null;
        if (wanted.Ack)
        {
            var timeout = wanted.AckTimeout is { } ms ? TimeSpan.FromMilliseconds(ms) : options.DefaultAckTimeout;
            acks = new AckSettings(
                (int)(wanted.Prefetch ?? (uint)options.DefaultPrefetch),
                timeout,
                (long)(timeout.TotalSeconds * options.TimeProvider.TimestampFrequency),
                (int)(wanted.MaxAttempts ?? (uint)options.DefaultMaxAttempts));
        }

        return new SubscriptionRequest(wanted.Sub, wanted.Pattern, wanted.Mode, acks);
    }
}

/// <summary>A subscription as a cell asked for it, checked.</summary>
internal sealed record SubscriptionRequest(uint Id, ChannelPattern Pattern, Catch Mode, AckSettings? Acks);
