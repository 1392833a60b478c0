using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>UNSB</c>, cell → transmitter (PROTOCOL.md §5.6): end a subscription.</summary>
/// <param name="Sub">The subscription's id.</param>
public sealed record UnsubscribeMessage(uint Sub) : JsonRequest
{
    /// <inheritdoc />
    public override Command Command => Command.Unsb;

    /// <summary>Reads an <c>UNSB</c> payload as the transmitter does (<c>INVALID_FIELD</c>); whether the id exists depends on the session.</summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out UnsubscribeMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => fields.GetUInt32("sub", required: true) is { } id ? new UnsubscribeMessage(id) { Ref = fields.Ref } : null, out message, out code, out error);

    /// <inheritdoc />
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "sub", Sub);
        MessageFields.WriteRef(writer, Ref);
    }
}
