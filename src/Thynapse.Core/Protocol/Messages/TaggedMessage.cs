using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// What <c>ACKN</c> and <c>PROG</c> share (PROTOCOL.md §5.12, §5.13a): the deliveries they are about, as <c>tag</c> or
/// <c>tags</c> (see <see cref="DeliveryTags"/>), read and written alike.
/// </summary>
/// <param name="Tag"><c>tag</c>: one delivery tag; null when absent.</param>
/// <param name="Tags"><c>tags</c>: more delivery tags; null when absent.</param>
public abstract record TaggedMessage(ulong? Tag, IReadOnlyList<ulong>? Tags) : JsonRequest
{
    /// <summary>Every tag, <see cref="Tag"/> first, in the order they are answered.</summary>
    public IEnumerable<ulong> All => DeliveryTags.All(Tag, Tags);

    /// <inheritdoc />
    public override void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        DeliveryTags.Write(writer, Tag, Tags);
        MessageFields.WriteRef(writer, Ref);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Reads the payload of <paramref name="command"/> as the transmitter does (<c>INVALID_FIELD</c>): <c>tag</c> or a
    /// non-empty <c>tags</c> of positive integers. Whether the tags were given to this cell depends on the session.
    /// </summary>
    private protected static bool TryRead<T>(
        JObject body,
        MessageLimits limits,
        Command command,
        Func<ulong?, ulong[]?, T> make,
        [NotNullWhen(true)] out T? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
        where T : TaggedMessage
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(limits);
        var fields = new JsonFields(body);
        var (tag, tags) = DeliveryTags.Read(command, ref fields);
        return MessageFields.Done(ref fields, make(tag, tags) with { Ref = MessageFields.ReadRef(body) }, out message, out code, out error);
    }
}
