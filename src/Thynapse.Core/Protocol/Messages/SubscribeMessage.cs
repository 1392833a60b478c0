using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>SUBS</c>, cell → transmitter (PROTOCOL.md §5.6): subscribe a pattern in a catch mode, optionally acknowledging;
/// also each entry of <c>HELO.subs</c> (§5.1), which carries no <c>ref</c>.
/// </summary>
/// <param name="Sub">The subscription's id, chosen by the cell, unique among its live subscriptions.</param>
/// <param name="Pattern">The pattern (§3.2).</param>
/// <param name="Mode">The catch mode (<c>multi</c> when the field is absent).</param>
public sealed record SubscribeMessage(uint Sub, ChannelPattern Pattern, Catch Mode) : JsonRequest
{
    /// <summary><c>ack</c>: deliveries are answered with <c>ACKN</c>/<c>NACK</c> (anycatch only).</summary>
    public bool Ack { get; init; }

    /// <summary><c>prefetch</c>, when given: unacknowledged deliveries it may hold (the transmitter's default otherwise).</summary>
    public uint? Prefetch { get; init; }

    /// <summary><c>ackTimeout</c>, when given: milliseconds before an unanswered delivery is redelivered.</summary>
    public uint? AckTimeout { get; init; }

    /// <summary><c>maxAttempts</c>, when given: attempts before the event is dead-lettered.</summary>
    public uint? MaxAttempts { get; init; }

    /// <inheritdoc />
    public override Command Command => Command.Subs;

    /// <summary>
    /// Reads and checks a <c>SUBS</c> payload as the transmitter does: <c>INVALID_FIELD</c>, <c>INVALID_PATTERN</c>,
    /// <c>INVALID_MODE</c>. Whether the id is taken and the cell's limit reached depend on the session, not the message.
    /// </summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out SubscribeMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => ReadEntry(ref fields, fields.Ref), out message, out code, out error);

    /// <inheritdoc />
    protected override void WriteFields(JsonWriter writer)
    {
        WriteEntryFields(writer);
        MessageFields.WriteRef(writer, Ref);
    }

    /// <summary>Writes the entry as <c>HELO.subs</c> carries it: without <c>ref</c>.</summary>
    internal void WriteEntry(JsonWriter writer)
    {
        writer.WriteStartObject();
        WriteEntryFields(writer);
        writer.WriteEndObject();
    }

    /// <summary>
    /// The checks of <c>SUBS</c> and of each <c>HELO.subs</c> entry, in the transmitter's order: field types first, then
    /// the pattern, the mode, and the acknowledgement settings (PROTOCOL.md §5.6). Null with the problem and its code
    /// (<c>INVALID_FIELD</c>, <c>INVALID_PATTERN</c>, <c>INVALID_MODE</c>) in <paramref name="fields"/>.
    /// </summary>
    internal static SubscribeMessage? ReadEntry(ref JsonFields fields, JValue? reference)
    {
        var id = fields.GetUInt32("sub", required: true) ?? 0;
        var patternText = fields.GetString("pattern", required: true);
        var modeText = fields.GetString("mode");
        var ack = fields.GetBoolean("ack") ?? false;
        var prefetch = fields.GetUInt32("prefetch");
        var ackTimeout = fields.GetUInt32("ackTimeout");
        var maxAttempts = fields.GetUInt32("maxAttempts");
        if (fields.Error is not null)
        {
            return null;
        }

        if (!ChannelPattern.TryParse(patternText, out var pattern, out var patternError))
        {
            fields.Refuse(ThynapseErrorCode.InvalidPattern, $"invalid pattern '{patternText}': {patternError}");
            return null;
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
                fields.Refuse(ThynapseErrorCode.InvalidMode, $"mode must be \"multi\" or \"any\", not \"{modeText}\"");
                return null;
        }

        // Ranges are checked whether or not 'ack' is set: a prefetch without ack is refused the same way.
        var problem = ack switch
        {
            true when mode == Catch.Multi => "multicatch events are not acknowledged: 'ack' needs mode \"any\"",
            _ when prefetch is < MessageLimits.MinPrefetch or > MessageLimits.MaxPrefetch => $"field 'prefetch' must be between {MessageLimits.MinPrefetch} and {MessageLimits.MaxPrefetch}",
            _ when ackTimeout is < MessageLimits.MinAckTimeoutMs or > MessageLimits.MaxAckTimeoutMs => $"field 'ackTimeout' must be between {MessageLimits.MinAckTimeoutMs} and {MessageLimits.MaxAckTimeoutMs} (milliseconds)",
            _ when maxAttempts is < MessageLimits.MinMaxAttempts or > MessageLimits.MaxMaxAttempts => $"field 'maxAttempts' must be between {MessageLimits.MinMaxAttempts} and {MessageLimits.MaxMaxAttempts}",
            _ => null,
        };
        if (problem is not null)
        {
            fields.Invalid(problem);
            return null;
        }

        return new SubscribeMessage(id, pattern, mode) { Ack = ack, Prefetch = prefetch, AckTimeout = ackTimeout, MaxAttempts = maxAttempts, Ref = reference };
    }

    // The SDK's order (CellSubscription.ToWire): sub, pattern, mode, then the acknowledgement settings.
    private void WriteEntryFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "sub", Sub);
        MessageFields.Write(writer, "pattern", Pattern.Text);
        MessageFields.Write(writer, "mode", MessageFields.NameOf(Mode));
        MessageFields.WriteIfSet(writer, "ack", Ack);
        MessageFields.WriteIfPresent(writer, "prefetch", Prefetch);
        MessageFields.WriteIfPresent(writer, "ackTimeout", AckTimeout);
        MessageFields.WriteIfPresent(writer, "maxAttempts", MaxAttempts);
    }
}
