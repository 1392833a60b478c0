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
                // Up to 2^64-1, as tags are 64-bit (§6.4). The transmitter's own reading threw on entries above 2^63-1
                // (INTERNAL_ERROR); the range is what PROTOCOL.md §5.13a asks: a positive integer.
                if (tagsField[i] is not JValue { Type: JTokenType.Integer, Value: var raw } || raw switch
                    {
                        long l => l <= 0,
                        ulong u => u == 0,
                        System.Numerics.BigInteger b => b <= 0 || b > ulong.MaxValue,
                        _ => true,
                    })
                {
                    fields.Invalid("field 'tags' must be an array of positive integers");
                    return (tag, null);
                }

                tags[i] = raw switch
                {
                    long l => (ulong)l,
                    ulong u => u,
                    _ => (ulong)(System.Numerics.BigInteger)raw!,
                };
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
