using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// Reading a <c>tags</c> array where no typed message does it yet: discovery filters and the mesh's cell records
/// (HELO and META are read by their messages, with the same rule, <see cref="MessageLimits.MaxTags"/>).
/// </summary>
internal static class ProfileFields
{
    private const int MaxTags = MessageLimits.MaxTags;

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
            if (tag.Type != JTokenType.String || (string?)tag is not { Length: > 0 and <= MessageLimits.MaxTagLength } text)
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
}
