using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>UNWT</c>, cell → transmitter (PROTOCOL.md §5.17): end a watch.</summary>
/// <param name="Watch">The watch's id.</param>
public sealed record UnwatchMessage(uint Watch) : JsonRequest
{
    /// <inheritdoc />
    public override Command Command => Command.Unwt;

    /// <summary>Reads an <c>UNWT</c> payload as the transmitter does (<c>INVALID_FIELD</c>); whether the watch exists depends on the session.</summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out UnwatchMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => fields.GetUInt32("watch", required: true) is { } id ? new UnwatchMessage(id) { Ref = fields.Ref } : null, out message, out code, out error);

    /// <inheritdoc />
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "watch", Watch);
        MessageFields.WriteRef(writer, Ref);
    }
}
