using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>NACK</c>, cell → transmitter (PROTOCOL.md §5.13): this delivery failed; redeliver it.</summary>
/// <param name="Tag">The delivery's tag.</param>
/// <param name="Reason"><c>reason</c>, at most <see cref="MessageLimits.MaxNackReasonLength"/> characters; null when absent.</param>
public sealed record NackMessage(ulong Tag, string? Reason) : JsonRequest
{
    /// <summary>What a dead letter says after <c>nacked: </c> when the <c>NACK</c> gave no reason (§5.5).</summary>
    public const string NoReason = "no reason given";

    /// <inheritdoc />
    public override Command Command => Command.Nack;

    /// <summary>The reason as a dead letter tells it: <see cref="Reason"/>, or <see cref="NoReason"/>.</summary>
    public string ReasonOrDefault => Reason ?? NoReason;

    /// <summary>
    /// Reads a <c>NACK</c> payload as the transmitter does (<c>INVALID_FIELD</c>): a required <c>tag</c>, a <c>reason</c>
    /// of at most 1,024 characters. Whether the tag was given to this cell depends on the session.
    /// </summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out NackMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => Read(ref fields), out message, out code, out error);

    /// <inheritdoc />
    /// <remarks>The SDK's order: tag, reason.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "tag", Tag);
        MessageFields.WriteIfPresent(writer, "reason", Reason);
        MessageFields.WriteRef(writer, Ref);
    }

    private static NackMessage? Read(ref JsonFields fields)
    {
        var tag = fields.GetUInt64("tag", required: true);
        var reason = fields.GetString("reason", maxLength: MessageLimits.MaxNackReasonLength);
        return tag is null ? null : new NackMessage(tag.Value, reason) { Ref = fields.Ref };
    }
}
