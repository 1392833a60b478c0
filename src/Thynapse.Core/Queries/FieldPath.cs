using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// A dotted field path (<c>zone.rack.row</c>), split once at compile time and resolved against metadata by
/// property lookups only (PROTOCOL.md §11.1).
/// </summary>
internal sealed class FieldPath
{
    private readonly string[] _segments;

    private FieldPath(string text, string[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The path as written.</summary>
    public string Text { get; }

    /// <summary>Splits and checks a path: non-empty segments, none starting with <c>$</c>.</summary>
    public static bool TryCreate(string text, [NotNullWhen(true)] out FieldPath? path, [NotNullWhen(false)] out string? error)
    {
        path = null;
        var segments = text.Split('.');
        foreach (var segment in segments)
        {
            if (segment.Length == 0)
            {
                error = $"the field path '{text}' has an empty segment";
                return false;
            }

            if (segment[0] == '$')
            {
                // '$' is reserved for operators; a segment such as "$foo" is almost always a misplaced operator.
                error = $"the field path '{text}' has a segment starting with '$'";
                return false;
            }
        }

        path = new FieldPath(text, segments);
        error = null;
        return true;
    }

    /// <summary>
    /// The value at this path, or null when it is missing: a segment is absent, a step lands on something that is
    /// not an object (arrays are not traversed), or the value is JSON <c>null</c>, which counts as absent (§2.1).
    /// </summary>
    public JToken? Resolve(JObject? metadata)
    {
        JToken? current = metadata;
        foreach (var segment in _segments)
        {
            if (current is not JObject obj || !obj.TryGetValue(segment, out current))
            {
                return null;
            }
        }

        return current!.Type is JTokenType.Null or JTokenType.Undefined ? null : current;
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}
