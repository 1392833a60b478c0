using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Commands;

internal sealed partial class CommandProcessor
{
    private void HandleSubscribe(CellSession session, JObject request, FieldReader fields)
    {
        if (!TryReadSubscription(fields, out var wanted, out var code, out var error))
        {
            Reject(session.RoutingId, session, Command.Subs, code, error, request);
            return;
        }

        if (session.Subscriptions.ContainsKey(wanted.Id))
        {
            Reject(session.RoutingId, session, Command.Subs, ThynapseErrorCode.DuplicateSubscription, $"subscription {wanted.Id} exists; UNSB it first or pick another id", request);
            return;
        }

        if (session.Subscriptions.Count >= _options.MaxSubscriptionsPerCell)
        {
            Reject(session.RoutingId, session, Command.Subs, ThynapseErrorCode.TooManySubscriptions, $"a cell may hold {_options.MaxSubscriptionsPerCell} subscriptions", request);
            return;
        }

        var subscription = AddSubscription(session, wanted);
        Reply(session, Command.Okay, new JObject { ["command"] = "SUBS", ["sub"] = wanted.Id }, request);
        RoomFreed(subscription); // work may be waiting in its service's queue
    }

    private void HandleUnsubscribe(CellSession session, JObject request, FieldReader fields)
    {
        var id = fields.GetUInt32("sub", required: true);
        if (fields.Error is { } error)
        {
            Reject(session.RoutingId, session, Command.Unsb, ThynapseErrorCode.InvalidField, error, request);
            return;
        }

        if (!session.Subscriptions.Remove(id!.Value, out var subscription))
        {
            Reject(session.RoutingId, session, Command.Unsb, ThynapseErrorCode.UnknownSubscription, $"this cell has no subscription {id}", request);
            return;
        }

        // Deliveries it holds stay in flight until acknowledged or timed out: the cell may still be handling them.
        subscription.Active = false;
        _routes.Remove(subscription);
        TransmitterCounters.Add(ref _counters.Subscriptions, -1);
        Reply(session, Command.Okay, new JObject { ["command"] = "UNSB", ["sub"] = id }, request);
    }

    private Subscription AddSubscription(CellSession session, SubscriptionRequest wanted)
    {
        var subscription = new Subscription(session, wanted.Id, wanted.Pattern, wanted.Mode, wanted.Acks);
        session.Subscriptions.Add(wanted.Id, subscription);
        _routes.Add(subscription);
        TransmitterCounters.Add(ref _counters.Subscriptions, 1);
        return subscription;
    }

    /// <summary>
    /// Reads <c>sub</c>, <c>pattern</c>, <c>mode</c> (default <c>multi</c>) and, for acknowledged anycatch,
    /// <c>ack</c>, <c>prefetch</c>, <c>ackTimeout</c> and <c>maxAttempts</c>, as in SUBS and HELO.subs (PROTOCOL.md §5.6).
    /// </summary>
    private bool TryReadSubscription(
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
            var timeout = ackTimeout is { } ms ? TimeSpan.FromMilliseconds(ms) : _options.DefaultAckTimeout;
            acks = new AckSettings(
                (int)(prefetch ?? (uint)_options.DefaultPrefetch),
                timeout,
                (long)(timeout.TotalSeconds * _options.TimeProvider.TimestampFrequency),
                (int)(maxAttempts ?? (uint)_options.DefaultMaxAttempts));
        }

        subscription = new SubscriptionRequest(id, pattern, mode, acks);
        return true;
    }
}

/// <summary>A subscription as a cell asked for it, checked.</summary>
internal sealed record SubscriptionRequest(uint Id, ChannelPattern Pattern, Catch Mode, AckSettings? Acks);
