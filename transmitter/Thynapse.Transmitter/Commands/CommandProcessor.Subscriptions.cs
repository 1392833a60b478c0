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
        if (!TryReadSubscription(fields, out var id, out var pattern, out var mode, out var code, out var error))
        {
            Reject(session.RoutingId, session, Command.Subs, code, error, request);
            return;
        }

        if (session.Subscriptions.ContainsKey(id))
        {
            Reject(session.RoutingId, session, Command.Subs, ThynapseErrorCode.DuplicateSubscription, $"subscription {id} exists; UNSB it first or pick another id", request);
            return;
        }

        if (session.Subscriptions.Count >= _options.MaxSubscriptionsPerCell)
        {
            Reject(session.RoutingId, session, Command.Subs, ThynapseErrorCode.TooManySubscriptions, $"a cell may hold {_options.MaxSubscriptionsPerCell} subscriptions", request);
            return;
        }

        AddSubscription(session, id, pattern, mode);
        Reply(session, Command.Okay, new JObject { ["command"] = "SUBS", ["sub"] = id }, request);
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

        _routes.Remove(subscription);
        TransmitterCounters.Add(ref _counters.Subscriptions, -1);
        Reply(session, Command.Okay, new JObject { ["command"] = "UNSB", ["sub"] = id }, request);
    }

    private void AddSubscription(CellSession session, uint id, ChannelPattern pattern, Catch mode)
    {
        var subscription = new Subscription(session, id, pattern, mode);
        session.Subscriptions.Add(id, subscription);
        _routes.Add(subscription);
        TransmitterCounters.Add(ref _counters.Subscriptions, 1);
    }

    /// <summary>Reads <c>sub</c>, <c>pattern</c> and <c>mode</c> (default <c>multi</c>) as in SUBS and HELO.subs.</summary>
    private static bool TryReadSubscription(
        FieldReader fields,
        out uint id,
        [NotNullWhen(true)] out ChannelPattern? pattern,
        out Catch mode,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
    {
        id = fields.GetUInt32("sub", required: true) ?? 0;
        var patternText = fields.GetString("pattern", required: true);
        var modeText = fields.GetString("mode");
        pattern = null;
        mode = Catch.Multi;
        code = ThynapseErrorCode.InvalidField;
        if (fields.Error is { } fieldError)
        {
            error = fieldError;
            return false;
        }

        if (!ChannelPattern.TryParse(patternText, out pattern, out var patternError))
        {
            code = ThynapseErrorCode.InvalidPattern;
            error = $"invalid pattern '{patternText}': {patternError}";
            return false;
        }

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

        error = null;
        return true;
    }
}
