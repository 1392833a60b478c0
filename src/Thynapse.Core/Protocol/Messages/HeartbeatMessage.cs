using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>BEAT</c>, both ways (PROTOCOL.md §5.8): a cell's heartbeat, and the transmitter's answer to it. It has no fields;
/// the answer carries no <c>ref</c> (§5).
/// </summary>
public sealed record HeartbeatMessage : JsonRequest
{
    /// <summary>A heartbeat without <c>ref</c>: what both sides send.</summary>
    public static HeartbeatMessage Instance { get; } = new();

    /// <inheritdoc />
    public override Command Command => Command.Beat;

    /// <summary>Reads a <c>BEAT</c> from a cell: it has no fields to refuse (an empty payload is <c>{}</c>, §2).</summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out HeartbeatMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => fields.Ref is { } reference ? new HeartbeatMessage { Ref = reference } : Instance, out message, out code, out error);

    /// <summary>Reads the transmitter's <c>BEAT</c>.</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out HeartbeatMessage? message, [NotNullWhen(false)] out string? error) =>
        TryRead(body, MessageLimits.Default, out message, out _, out error);

    /// <inheritdoc />
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.WriteRef(writer, Ref);
    }
}
