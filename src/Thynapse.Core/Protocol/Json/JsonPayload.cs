using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>Reading and writing the JSON payloads of <c>J</c> commands (PROTOCOL.md §2.1).</summary>
public static class JsonPayload
{
    /// <summary>How deeply a payload may nest before it is refused (default for <see cref="TryParse"/>).</summary>
    public const int DefaultMaxDepth = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses a payload that must be one JSON object (an empty payload is the empty object), with nothing after it.
    /// </summary>
    public static bool TryParse(
        ReadOnlySpan<byte> payload,
        [NotNullWhen(true)] out JObject? value,
        [NotNullWhen(false)] out string? error,
        int maxDepth = DefaultMaxDepth)
    {
        value = null;
        if (payload.IsEmpty)
        {
            value = [];
            error = null;
            return true;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            error = "the payload is not valid UTF-8";
            return false;
        }

        try
        {
            using var reader = new JsonTextReader(new StringReader(text))
            {
                MaxDepth = maxDepth,
                DateParseHandling = DateParseHandling.None,
                FloatParseHandling = FloatParseHandling.Double,
            };
            if (!reader.Read() || reader.TokenType != JsonToken.StartObject)
            {
                error = "the payload must be a JSON object";
                return false;
            }

            var parsed = JObject.Load(reader, new JsonLoadSettings { DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error });
            if (reader.Read())
            {
                error = "the payload has content after its JSON object";
                return false;
            }

            value = parsed;
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            error = $"invalid JSON: {ex.Message}";
            return false;
        }
    }

    /// <summary>The header frame <c>J CMND {json}</c> for <paramref name="payload"/>.</summary>
    public static byte[] Frame(Command command, JObject payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var json = payload.ToString(Formatting.None);
        var bytes = new byte[FrameHeader.PayloadOffset + Encoding.UTF8.GetByteCount(json)];
        FrameHeader.WritePrefix(bytes, Encodings.Json, command);
        Encoding.UTF8.GetBytes(json, bytes.AsSpan(FrameHeader.PayloadOffset));
        return bytes;
    }

    /// <summary>A JSON type name for error messages (<c>string</c>, <c>number</c>, …).</summary>
    internal static string Describe(JTokenType type) => type switch
    {
        JTokenType.Object => "an object",
        JTokenType.Array => "an array",
        JTokenType.Integer or JTokenType.Float => "a number",
        JTokenType.String => "a string",
        JTokenType.Boolean => "a boolean",
        JTokenType.Null => "null",
        _ => type.ToString().ToLowerInvariant(),
    };
}
