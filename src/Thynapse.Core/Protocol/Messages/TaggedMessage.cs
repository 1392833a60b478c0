using Newtonsoft.Json;

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
    protected override void WriteFields(JsonWriter writer)
    {
        DeliveryTags.Write(writer, Tag, Tags);
        MessageFields.WriteRef(writer, Ref);
    }

    /// <summary>
    /// Reads the tags of <paramref name="command"/> as the transmitter does (<c>INVALID_FIELD</c>): <c>tag</c> or a
    /// non-empty <c>tags</c> of positive integers. Whether the tags were given to this cell depends on the session.
    /// </summary>
    private protected static (ulong? Tag, ulong[]? Tags) ReadTags(Command command, ref JsonFields fields) => DeliveryTags.Read(command, ref fields);
}
