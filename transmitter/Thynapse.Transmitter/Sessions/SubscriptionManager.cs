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
    /// <summary><c>SUBS</c>: answered with <c>OKAY</c>; events accepted after it are routed to the subscription.</summary>
    public void HandleSubscribe(LocalCell cell, JObject request, FieldReader fields)
    {
        if (!TryRead(fields, out var wanted, out var code, out var error))
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
        responder.Reply(cell, Command.Okay, new JObject { ["command"] = "SUBS", ["sub"] = wanted.Id }, request);
        tracker.RoomFreed(subscription); // work may be waiting in its service's queue
    }

    /// <summary><c>UNSB</c>: no event accepted after the answer is routed to the subscription.</summary>
    public void HandleUnsubscribe(LocalCell cell, JObject request, FieldReader fields)
    {
        var id = fields.GetUInt32("sub", required: true);
        if (fields.Error is { } error)
        {
            responder.Reject(cell.RoutingId, cell, Command.Unsb, ThynapseErrorCode.InvalidField, error, request);
            return;
        }

        if (!cell.Profile.Subscriptions.Remove(id!.Value, out var subscription))
        {
            responder.Reject(cell.RoutingId, cell, Command.Unsb, ThynapseErrorCode.UnknownSubscription, $"this cell has no subscription {id}", request);
            return;
        }

        // Deliveries it holds stay in flight until acknowledged or timed out: the cell may still be handling them.
        subscription.Active = false;
        routes.Remove(subscription);
        TransmitterCounters.Add(ref counters.Subscriptions, -1);
        responder.Reply(cell, Command.Okay, new JObject { ["command"] = "UNSB", ["sub"] = id }, request);
    }

    /// <summary>Adds a checked subscription to the cell and the route table.</summary>
    public Subscription Add(LocalCell cell, SubscriptionRequest wanted)
    {
        var subscription = new Subscription(cell, wanted.Id, wanted.Pattern, wanted.Mode, wanted.Acks);
        cell.Profile.Subscriptions.Add(wanted.Id, subscription);
        routes.Add(subscription);
        TransmitterCounters.Add(ref counters.Subscriptions, 1);
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

    /// <summary>Reads <c>HELO.subs</c>: each entry as in <c>SUBS</c>, naming the index of the first bad one.</summary>
    public List<SubscriptionRequest>? ReadHelo(JArray? subs, FieldReader fields, out ThynapseErrorCode code)
    {
        code = ThynapseErrorCode.InvalidField;
        var result = new List<SubscriptionRequest>();
        if (subs is null)
        {
            return result;
        }

        if (subs.Count > options.MaxSubscriptionsPerCell)
        {
            code = ThynapseErrorCode.TooManySubscriptions;
            fields.Invalid($"field 'subs' has {subs.Count} entries; the limit is {options.MaxSubscriptionsPerCell}");
            return null;
        }

        var ids = new HashSet<uint>();
        for (var i = 0; i < subs.Count; i++)
        {
            if (subs[i] is not JObject entry)
            {
                code = ThynapseErrorCode.InvalidField;
                fields.Invalid($"subs[{i}] must be an object with 'sub', 'pattern' and 'mode'");
                return null;
            }

            var entryFields = new FieldReader(entry);
            if (!TryRead(entryFields, out var wanted, out code, out var problem))
            {
                fields.Invalid($"subs[{i}]: {problem}");
                return null;
            }

            if (!ids.Add(wanted.Id))
            {
                code = ThynapseErrorCode.DuplicateSubscription;
                fields.Invalid($"subs[{i}]: subscription id {wanted.Id} appears twice");
                return null;
            }

            result.Add(wanted);
        }

        return result;
    }


    /// <summary>
    /// Reads <c>sub</c>, <c>pattern</c>, <c>mode</c> (default <c>multi</c>) and, for acknowledged anycatch,
    /// <c>ack</c>, <c>prefetch</c>, <c>ackTimeout</c> and <c>maxAttempts</c>, as in SUBS and HELO.subs (PROTOCOL.md §5.6).
    /// </summary>
    private bool TryRead(
        FieldReader fields,
        [NotNullWhen(true)] out SubscriptionRequest? subscription,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
    {
        var id = fields.GetUInt32("sub", required: true) ?? 0;
        var patternText = fields.GetString("pattern", required: true);
        var modeText = fields.GetString("mode");
        var ack = fields.GetBoolean("ack") ?? false;
        var prefetch = fields.GetUInt32("prefetch");
        var ackTimeout = fields.GetUInt32("ackTimeout");
        var maxAttempts = fields.GetUInt32("maxAttempts");
        subscription = null;
        code = ThynapseErrorCode.InvalidField;
        if (fields.Error is { } fieldError)
        {
            error = fieldError;
            return false;
        }

        if (!ChannelPattern.TryParse(patternText, out var pattern, out var patternError))
        {
            code = ThynapseErrorCode.InvalidPattern;
            error = $"invalid pattern '{patternText}': {patternError}";
            return false;
        }

        Catch mode;
        switch (modeText)
        {
            case null or "multi":
                mode = Catch.Multi;
                break;
            case "any":
                mode = Catch.Any;
                break;
            default:
                code = ThynapseErrorCode.InvalidMode;
                error = $"mode must be \"multi\" or \"any\", not \"{modeText}\"";
                return false;
        }

        error = ack switch
        {
            true when mode == Catch.Multi => "multicatch events are not acknowledged: 'ack' needs mode \"any\"",
            _ when prefetch is 0 or > 65_535 => "field 'prefetch' must be between 1 and 65535",
            _ when ackTimeout is < 10 or > 3_600_000 => "field 'ackTimeout' must be between 10 and 3600000 (milliseconds)",
            _ when maxAttempts is 0 or > 1000 => "field 'maxAttempts' must be between 1 and 1000",
            _ => null,
        };
        if (error is not null)
        {
            return false;
        }

        AckSettings? acks = null;
        if (ack)
        {
            var timeout = ackTimeout is { } ms ? TimeSpan.FromMilliseconds(ms) : options.DefaultAckTimeout;
            acks = new AckSettings(
                (int)(prefetch ?? (uint)options.DefaultPrefetch),
                timeout,
                (long)(timeout.TotalSeconds * options.TimeProvider.TimestampFrequency),
                (int)(maxAttempts ?? (uint)options.DefaultMaxAttempts));
        }

        subscription = new SubscriptionRequest(id, pattern, mode, acks);
        return true;
    }
}

/// <summary>A subscription as a cell asked for it, checked.</summary>
internal sealed record SubscriptionRequest(uint Id, ChannelPattern Pattern, Catch Mode, AckSettings? Acks);
