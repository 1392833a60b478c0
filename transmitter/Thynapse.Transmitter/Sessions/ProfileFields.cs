using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Transmitter.Sessions;

/// <summary>The checks and edits of a cell profile's fields, shared by <c>HELO</c> and <c>META</c> (PROTOCOL.md §5.1, §5.15).</summary>
internal static class ProfileFields
{
    /// <summary>Tags a cell may carry, and their length.</summary>
    public const int MaxTags = 64;

    /// <summary>Reads a <c>tags</c> array (duplicates dropped); null with the problem in <paramref name="fields"/>.</summary>
    public static string[]? ReadTags(JArray tags, FieldReader fields)
    {
        if (tags.Count > MaxTags)
        {
            fields.Invalid($"field 'tags' has {tags.Count} entries; the limit is {MaxTags}");
            return null;
        }

        var result = new List<string>(tags.Count);
        foreach (var tag in tags)
        {
            if (tag.Type != JTokenType.String || (string?)tag is not { Length: > 0 and <= 64 } text)
            {
                fields.Invalid("field 'tags' must be an array of strings of 1 to 64 characters");
                return null;
            }

            if (!result.Contains(text))
            {
                result.Add(text);
            }
        }

        return [.. result];
    }

    /// <summary>True when the metadata's compact JSON fits <paramref name="limit"/> bytes.</summary>
    public static bool FitsMetadataLimit(JObject metadata, int limit, out int size)
    {
        size = Encoding.UTF8.GetByteCount(metadata.ToString(Formatting.None));
        return size <= limit;
    }

    /// <summary>
    /// The metadata after a merge: a new object, never an in-place edit, since queries may be reading the old one
    /// (PROTOCOL.md §5.15: merge is shallow, and a null value removes the key).
    /// </summary>
    public static JObject Merge(JObject current, JObject changes)
    {
        var merged = (JObject)current.DeepClone();
        foreach (var (key, value) in changes)
        {
            if (value is null || value.Type == JTokenType.Null)
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value.DeepClone();
            }
        }

        return merged;
    }
}
