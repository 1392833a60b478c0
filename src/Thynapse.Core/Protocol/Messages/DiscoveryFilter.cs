using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>Which cells <c>LIST</c> and <c>WTCH</c> are about (PROTOCOL.md §5.16): every condition given must hold.</summary>
public sealed record DiscoveryFilter
{
    /// <summary>The filter that every cell matches.</summary>
    public static DiscoveryFilter All { get; } = new();

    /// <summary><c>service</c>: only cells of this service; null when absent.</summary>
    /// <remarks>Not checked as a service name (§3.3): a name no cell can have matches nothing.</remarks>
    public string? Service { get; init; }

    /// <summary><c>tags</c>: only cells carrying every one of them (read: duplicates dropped); empty when absent.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary><c>query</c>: only cells whose metadata matches this query (§11), as sent; null when absent.</summary>
    public JObject? Query { get; init; }

    /// <summary>The compiled <see cref="Query"/>, when read by a message's <c>TryRead</c>; null otherwise.</summary>
    public MetadataQuery? CompiledQuery { get; init; }

    /// <summary>
    /// Reads <c>service</c>, <c>tags</c> and <c>query</c> as the transmitter does: field types and tags
    /// (<c>INVALID_FIELD</c>, including a <c>query</c> that is not an object), then the query (<c>INVALID_QUERY</c>,
    /// <c>QUERY_TOO_DEEP</c>, <c>QUERY_TOO_LARGE</c>). <paramref name="fields"/> may already hold a problem (a
    /// <c>WTCH</c>'s bad id), which wins. Null with the problem in <paramref name="fields"/>.
    /// </summary>
    internal static DiscoveryFilter? Read(ref JsonFields fields)
    {
        var service = fields.GetString("service");
        var tagsField = fields.GetArray("tags");
        var query = fields.GetObject("query");
        var tags = fields.Error is null && tagsField is not null ? MessageFields.ReadTags(tagsField, ref fields) : [];
        if (fields.Error is not null)
        {
            return null;
        }

        MetadataQuery? compiled = null;
        if (query is not null && !MetadataQuery.TryParse(query, fields.Limits.QueryLimits, out compiled, out var problem))
        {
            fields.Refuse(EventExtension.CodeOf(problem), $"query: {problem.Message}");
            return null;
        }

        return new DiscoveryFilter { Service = service, Tags = tags ?? [], Query = query, CompiledQuery = compiled };
    }

    /// <summary>Writes the filter's fields into an object being written: the SDK's order, service, tags (when any), query.</summary>
    internal void WriteFields(JsonWriter writer)
    {
        MessageFields.WriteIfPresent(writer, "service", Service);
        if (Tags.Count > 0)
        {
            MessageFields.WriteStrings(writer, "tags", Tags);
        }

        MessageFields.WriteIfPresent(writer, "query", Query);
    }
}
