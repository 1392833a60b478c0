using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>J ACKN</c>, cell → transmitter (PROTOCOL.md §5.12): deliveries handled: these deliveries were handled.</summary>
/// <param name="Tag"><c>tag</c>: one delivery tag; null when absent.</param>
/// <param name="Tags"><c>tags</c>: more delivery tags; null when absent.</param>
public sealed record AckMessage(ulong? Tag, IReadOnlyList<ulong>? Tags) : JsonRequest
{
    /// <inheritdoc />
    public override Command Command => Command.Ackn;

    /// <summary>Every tag, <see cref="Tag"/> first, in the order they are acknowledged.</summary>
    public IEnumerable<ulong> All => DeliveryTags.All(Tag, Tags);

    /// <summary>
    /// Reads a <c>J ACKN</c> payload as the transmitter does (<c>INVALID_FIELD</c>): <c>tag</c> or a non-empty
    /// <c>tags</c> of positive integers. Whether the tags were given to this cell depends on the session.
    /// </summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out AckMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(limits);
        var fields = new JsonFields(body);
        var (tag, tags) = DeliveryTags.Read(Command.Ackn, ref fields);
        return MessageFields.Done(ref fields, new AckMessage(tag, tags) { Ref = MessageFields.ReadRef(body) }, out message, out code, out error);
    }

    /// <inheritdoc />
    public override void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        DeliveryTags.Write(writer, Tag, Tags);
        MessageFields.WriteRef(writer, Ref);
        writer.WriteEndObject();
    }
}
