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
    /// Reads the fields of <paramref name="command"/> as the transmitter does (<c>INVALID_FIELD</c>): <c>tag</c> or a
    /// non-empty <c>tags</c> of positive integers, made into a message by <paramref name="make"/> with the request's
    /// <c>ref</c>. Whether the tags were given to this cell depends on the session.
    /// </summary>
    private protected static T Read<T>(Command command, ref JsonFields fields, Func<ulong?, ulong[]?, JValue?, T> make)
        where T : TaggedMessage
    {
        var (tag, tags) = DeliveryTags.Read(command, ref fields);
        return make(tag, tags, fields.Ref);
    }
}
