using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>The <c>tag</c> and/or <c>tags</c> of <c>ACKN</c> and <c>PROG</c> (PROTOCOL.md §5.12, §5.13a).</summary>
internal static class DeliveryTags
{
    /// <summary>
    /// Reads <c>tag</c> (any 64-bit integer, 0 included: it is then unknown, not invalid) and <c>tags</c> (positive
    /// integers), at least one of the two. Null with the problem in <paramref name="fields"/>.
    /// </summary>
    public static (ulong? Tag, ulong[]? Tags) Read(Command command, ref JsonFields fields)
    {
        var tag = fields.GetUInt64("tag");
        var tagsField = fields.GetArray("tags");
        if (fields.Error is null && tag is null && tagsField is not { Count: > 0 })
        {
            fields.Invalid($"{CommandNames.Of(command)} needs 'tag' or a non-empty 'tags'");
        }

        ulong[]? tags = null;
        if (tagsField is not null)
        {
            tags = new ulong[tagsField.Count];
            for (var i = 0; i < tags.Length; i++)
            {
                // Up to 2^64-1, as tags are 64-bit (§6.4): a positive integer (§5.13a), however Json.NET holds it.
                if (JsonFields.UInt64Of(tagsField[i]) is not (> 0 and var value))
                {
                    fields.Invalid("field 'tags' must be an array of positive integers below 2^64");
                    return (tag, null);
                }

                tags[i] = value;
            }
        }

        return (tag, tags);
    }

    public static void Write(JsonWriter writer, ulong? tag, IReadOnlyList<ulong>? tags)
    {
        if (tag is { } single)
        {
            MessageFields.Write(writer, "tag", single);
        }

        if (tags is not null)
        {
            writer.WritePropertyName("tags");
            writer.WriteStartArray();
            foreach (var each in tags)
            {
                writer.WriteValue(each);
            }

            writer.WriteEndArray();
        }
    }

    /// <summary><c>tag</c> first, then <c>tags</c>, as the transmitter handles them.</summary>
    public static IEnumerable<ulong> All(ulong? tag, IReadOnlyList<ulong>? tags)
    {
        if (tag is { } single)
        {
            yield return single;
        }

        foreach (var each in tags ?? [])
        {
            yield return each;
        }
    }
}
