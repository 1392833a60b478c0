using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>GBYE</c>, both ways (PROTOCOL.md §5.9): a cell leaves (no fields); the transmitter answers it with <c>{}</c>, or
/// says unprompted that it is shutting down (<see cref="Reason"/> = <see cref="Shutdown"/>).
/// </summary>
/// <param name="Reason"><c>reason</c>; null when absent.</param>
public sealed record GoodbyeMessage(string? Reason = null) : JsonRequest
{
    /// <summary>The reason of a transmitter that shuts down.</summary>
    public const string Shutdown = "shutdown";

    /// <summary>The reason of a transmitter whose session with the cell ended because another transmitter's newer claim on it won (PROTOCOL.md §12.8).</summary>
    public const string Moved = "moved";

    /// <summary>
    /// <c>to</c>, from a transmitter only: the transmitter to move to (<see cref="Shutdown"/>), or the one the cell moved to
    /// (<see cref="Moved"/>); null when absent.
    /// </summary>
    public TransmitterAddress? To { get; init; }

    /// <summary>A goodbye without fields: a cell leaving, or the transmitter's answer to it.</summary>
    public static GoodbyeMessage Instance { get; } = new();

    /// <inheritdoc />
    public override Command Command => Command.Gbye;

    /// <summary>Reads a <c>GBYE</c> from a cell: the transmitter reads no field of it.</summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out GoodbyeMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => fields.Ref is { } reference ? new GoodbyeMessage { Ref = reference } : Instance, out message, out code, out error);

    /// <summary>Reads the transmitter's <c>GBYE</c>: an optional string <c>reason</c>, an optional <c>to</c> (<c>{"id","command","pub"}</c>).</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out GoodbyeMessage? message, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        var fields = new JsonFields(body);
        var reason = fields.GetString("reason");
        var to = fields.GetObject("to");
        var address = to is null ? null : TransmitterAddress.ReadAll([to], ref fields) is [var one] ? one : null;
        return MessageFields.Done(ref fields, new GoodbyeMessage(reason) { To = address }, out message, out _, out error);
    }

    /// <inheritdoc />
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.WriteIfPresent(writer, "reason", Reason);
        if (To is not null)
        {
            writer.WritePropertyName("to");
            To.WriteJson(writer);
        }

        MessageFields.WriteRef(writer, Ref);
    }
}
