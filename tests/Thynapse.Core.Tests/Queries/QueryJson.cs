using Newtonsoft.Json;

namespace Thynapse.Core.Tests;

/// <summary>
/// Test JSON written with single quotes (JSON.NET reads them), parsed as the transmitter parses payloads:
/// dates stay strings, floats are doubles (<see cref="JsonPayload.TryParse"/>).
/// </summary>
internal static class QueryJson
{
    public static JToken Parse(string json)
    {
        using var reader = new JsonTextReader(new StringReader(json))
        {
            DateParseHandling = DateParseHandling.None,
            FloatParseHandling = FloatParseHandling.Double,
            MaxDepth = 256,
        };
        return JToken.Load(reader);
    }

    public static JObject Object(string json) => (JObject)Parse(json);

    public static MetadataQuery Query(string json, QueryLimits? limits = null) => MetadataQuery.Parse(Parse(json), limits);
}
