using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// Who an event is for beyond its channel (PROTOCOL.md §4.6): <c>target</c> and <c>service</c>, as a <c>J EVNT</c>
/// payload carries them and as a <c>B EVNT</c> record's extension object does (§6.1).
/// </summary>
/// <param name="Target">The metadata query as sent; null when absent.</param>
/// <param name="Service">The only service that may receive the event; null when absent.</param>
public readonly record struct EventExtension(JObject? Target, string? Service)
{
    /// <summary>The compiled <see cref="Target"/>, when it was read by <see cref="TryRead"/>; null otherwise.</summary>
    public MetadataQuery? Query { get; init; }

    /// <summary>True when neither a target nor a service narrows the receivers.</summary>
    public bool IsEmpty => Target is null && Service is null;

    /// <summary>
    /// Reads <c>target</c> and <c>service</c> as the transmitter does: the query first (<c>INVALID_QUERY</c>,
    /// <c>QUERY_TOO_DEEP</c>, <c>QUERY_TOO_LARGE</c>, whatever the JSON type of <c>target</c>), then the service
    /// (<c>INVALID_FIELD</c>). Other fields are ignored.
    /// </summary>
    public static bool TryRead(JObject fields, MessageLimits limits, out EventExtension extension, out ThynapseErrorCode code, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(limits);
        extension = default;
        code = ThynapseErrorCode.None;
        error = null;
        JObject? target = null;
        MetadataQuery? query = null;
        if (fields.TryGetValue("target", StringComparison.Ordinal, out var json) && json.Type != JTokenType.Null)
        {
            if (!MetadataQuery.TryParse(json, limits.QueryLimits, out query, out var problem))
            {
                code = CodeOf(problem);
                error = $"target: {problem.Message}";
                return false;
            }

            target = json as JObject; // a query compiles only from an object
        }

        string? service = null;
        if (fields.TryGetValue("service", StringComparison.Ordinal, out var serviceToken) && serviceToken.Type != JTokenType.Null)
        {
            // A service that is not a string is told as an empty name, as the transmitter always has.
            service = serviceToken.Type == JTokenType.String ? (string?)serviceToken : null;
            if (!ServiceName.TryValidate(service, out var serviceError))
            {
                code = ThynapseErrorCode.InvalidField;
                error = $"field 'service': {serviceError}";
                return false;
            }
        }

        extension = new EventExtension(target, service) { Query = query };
        return true;
    }

    /// <summary>The error code of a query that did not compile (PROTOCOL.md §11.7).</summary>
    public static ThynapseErrorCode CodeOf(QueryError problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return problem.Kind switch
        {
            QueryErrorKind.TooDeep => ThynapseErrorCode.QueryTooDeep,
            QueryErrorKind.TooLarge => ThynapseErrorCode.QueryTooLarge,
            _ => ThynapseErrorCode.InvalidQuery,
        };
    }

    /// <summary>The extension object: <c>target</c>, then <c>service</c>, each only when given.</summary>
    public JObject ToJson()
    {
        using var writer = new JTokenWriter();
        WriteJson(writer);
        return (JObject)writer.Token!;
    }

    /// <summary>The extension object as compact UTF-8 JSON, as a <c>B EVNT</c> record carries it (§6.1).</summary>
    public byte[] ToUtf8() => Encoding.UTF8.GetBytes(ToJson().ToString(Formatting.None));

    /// <summary>Writes the extension object.</summary>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        WriteFields(writer);
        writer.WriteEndObject();
    }

    /// <summary>Writes <c>target</c> and <c>service</c> into an object being written.</summary>
    internal void WriteFields(JsonWriter writer)
    {
        if (Target is not null)
        {
            MessageFields.Write(writer, "target", Target);
        }

        if (Service is not null)
        {
            MessageFields.Write(writer, "service", Service);
        }
    }
}
