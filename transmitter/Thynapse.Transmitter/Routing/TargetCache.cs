using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Compiled targets by the bytes of the JSON that carried them (a binary record's extension), so that a
/// publisher sending the same target again and again pays for one compilation. Bounded: past its size the cache
/// starts over.
/// </summary>
internal sealed class TargetCache(QueryLimits limits)
{
    private const int Capacity = 4096;
    private readonly Dictionary<byte[], EventTarget> _targets = new(ByteArrayComparer.Instance);

    /// <summary>The target in an extension object (<c>target</c>, <c>service</c>), or an error naming the problem.</summary>
    public bool TryGet(ReadOnlySpan<byte> extension, out EventTarget target, out ThynapseErrorCode code, out string? error)
    {
        code = ThynapseErrorCode.None;
        error = null;
        if (_targets.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(extension, out target))
        {
            return true;
        }

        if (!JsonPayload.TryParse(extension, out var json, out error))
        {
            code = ThynapseErrorCode.InvalidJson;
            error = $"extension: {error}";
            return false;
        }

        if (!TryRead(json, limits, out target, out code, out error))
        {
            return false;
        }

        if (_targets.Count >= Capacity)
        {
            _targets.Clear();
        }

        _targets[extension.ToArray()] = target;
        return true;
    }

    /// <summary>Reads <c>target</c> (a query) and <c>service</c> from an EVNT payload or extension.</summary>
    public static bool TryRead(JObject fields, QueryLimits limits, out EventTarget target, out ThynapseErrorCode code, out string? error)
    {
        target = default;
        code = ThynapseErrorCode.None;
        error = null;
        MetadataQuery? query = null;
        if (fields["target"] is { Type: not JTokenType.Null } json)
        {
            if (!MetadataQuery.TryParse(json, limits, out query, out var problem))
            {
                code = problem.Kind switch
                {
                    QueryErrorKind.TooDeep => ThynapseErrorCode.QueryTooDeep,
                    QueryErrorKind.TooLarge => ThynapseErrorCode.QueryTooLarge,
                    _ => ThynapseErrorCode.InvalidQuery,
                };
                error = $"target: {problem.Message}";
                return false;
            }
        }

        string? service = null;
        if (fields["service"] is { Type: not JTokenType.Null } serviceToken)
        {
            service = serviceToken.Type == JTokenType.String ? (string?)serviceToken : null;
            if (!ServiceName.TryValidate(service, out var serviceError))
            {
                code = ThynapseErrorCode.InvalidField;
                error = $"field 'service': {serviceError}";
                return false;
            }
        }

        target = new EventTarget(query, service, 0, false);
        return true;
    }
}
