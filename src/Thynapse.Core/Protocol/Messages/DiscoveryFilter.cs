using System.Diagnostics.CodeAnalysis;
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
    /// Reads a request made of a filter (<c>LIST</c>), or of the id named <paramref name="idName"/> and a filter
    /// (<c>WTCH</c>): the id first, so that a bad id is reported before a bad query; <paramref name="make"/> is given the
    /// id (0 without one), the filter and the request's <c>ref</c>.
    /// </summary>
    internal static bool TryReadRequest<T>(
        JObject body,
        MessageLimits limits,
        string? idName,
        Func<uint, DiscoveryFilter, JValue?, T> make,
        [NotNullWhen(true)] out T? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
        where T : JsonRequest
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(limits);
        var fields = new JsonFields(body);
        var id = idName is null ? null : fields.GetUInt32(idName, required: true);
        if (!TryRead(ref fields, limits, out var filter, out code, out error))
        {
            message = null;
            return false;
        }

        message = make(id ?? 0, filter, fields.Ref);
        return true;
    }

    /// <summary>
    /// Reads <c>service</c>, <c>tags</c> and <c>query</c> as the transmitter does: field types and tags
    /// (<c>INVALID_FIELD</c>, including a <c>query</c> that is not an object), then the query (<c>INVALID_QUERY</c>,
    /// <c>QUERY_TOO_DEEP</c>, <c>QUERY_TOO_LARGE</c>). <paramref name="fields"/> may already hold a problem, which wins.
    /// </summary>
    internal static bool TryRead(
        ref JsonFields fields,
        MessageLimits limits,
        [NotNullWhen(true)] out DiscoveryFilter? filter,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
    {
        filter = null;
        code = ThynapseErrorCode.InvalidField;
        var service = fields.GetString("service");
        var tagsField = fields.GetArray("tags");
        var query = fields.GetObject("query");
        var tags = fields.Error is null && tagsField is not null ? MessageFields.ReadTags(tagsField, ref fields) : [];
        if (fields.Error is { } fieldError)
        {
            error = fieldError;
            return false;
        }

        MetadataQuery? compiled = null;
        if (query is not null && !MetadataQuery.TryParse(query, limits.QueryLimits, out compiled, out var problem))
        {
            code = EventExtension.CodeOf(problem);
            error = $"query: {problem.Message}";
            return false;
        }

        code = ThynapseErrorCode.None;
        error = null;
        filter = new DiscoveryFilter { Service = service, Tags = tags ?? [], Query = query, CompiledQuery = compiled };
        return true;
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
