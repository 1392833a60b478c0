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
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(limits);
        var reference = MessageFields.ReadRef(body);
        message = reference is null ? Instance : new GoodbyeMessage { Ref = reference };
        code = ThynapseErrorCode.None;
        error = null;
        return true;
    }

    /// <summary>Reads the transmitter's <c>GBYE</c>: an optional string <c>reason</c>.</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out GoodbyeMessage? message, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        var fields = new JsonFields(body);
        var reason = fields.GetString("reason");
        return MessageFields.Done(ref fields, new GoodbyeMessage(reason), out message, out _, out error);
    }

    /// <inheritdoc />
    public override void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        if (Reason is not null)
        {
            MessageFields.Write(writer, "reason", Reason);
        }

        MessageFields.WriteRef(writer, Ref);
        writer.WriteEndObject();
    }
}
