using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// Reads typed fields from a command's JSON object and remembers the first problem, so that a handler reads
/// every field and then checks <see cref="Error"/> once.
/// </summary>
public sealed class FieldReader
{
    private readonly JObject _source;

    /// <summary>Reads fields of <paramref name="source"/>.</summary>
    public FieldReader(JObject source) => _source = source ?? throw new ArgumentNullException(nameof(source));

    /// <summary>The first problem found (naming the field), or null.</summary>
    public string? Error { get; private set; }

    /// <summary>A string field; null when absent and not required.</summary>
    public string? GetString(string name, bool required = false, int maxLength = int.MaxValue)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        if (token.Type != JTokenType.String)
        {
            return FailRef<string>(name, "a string", token);
        }

        var value = (string)token!;
        if (value.Length > maxLength)
        {
            Error ??= $"field '{name}' is longer than {maxLength} characters";
            return null;
        }

        return value;
    }

    /// <summary>A non-negative integer field that fits in 64 bits.</summary>
    public ulong? GetUInt64(string name, bool required = false)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        if (token.Type != JTokenType.Integer)
        {
            return Fail<ulong>(name, "a non-negative integer", token);
        }

        return UInt64Of(token) ?? Fail<ulong>(name, "a non-negative integer below 2^64", token);
    }

    /// <summary>
    /// The value of a JSON integer in 0 … 2^64−1, however Json.NET holds it (a long, or a BigInteger past 2^63); null
    /// for anything else. Never throws, unlike <c>Value&lt;long&gt;()</c> on a large integer.
    /// </summary>
    public static ulong? UInt64Of(JToken token) => token is JValue { Type: JTokenType.Integer, Value: var raw }
        ? raw switch
        {
            long l when l >= 0 => (ulong)l,
            ulong u => u,
            System.Numerics.BigInteger b when b >= 0 && b <= ulong.MaxValue => (ulong)b,
            _ => null,
        }
        : null;

    /// <summary>A non-negative integer field that fits in 32 bits.</summary>
    public uint? GetUInt32(string name, bool required = false)
    {
        var value = GetUInt64(name, required);
        if (value is > uint.MaxValue)
        {
            Error ??= $"field '{name}' must be below 2^32";
            return null;
        }

        return (uint?)value;
    }

    /// <summary>A boolean field.</summary>
    public bool? GetBoolean(string name, bool required = false)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        return token.Type == JTokenType.Boolean ? (bool)token : Fail<bool>(name, "a boolean", token);
    }

    /// <summary>An object field.</summary>
    public JObject? GetObject(string name, bool required = false)
    {
        var token = Get(name, required);
        return token is null ? null : token as JObject ?? FailRef<JObject>(name, "an object", token);
    }

    /// <summary>An array field.</summary>
    public JArray? GetArray(string name, bool required = false)
    {
        var token = Get(name, required);
        return token is null ? null : token as JArray ?? FailRef<JArray>(name, "an array", token);
    }

    /// <summary>True when the field is present and not null, whatever its type.</summary>
    public bool Has(string name) => _source.TryGetValue(name, StringComparison.Ordinal, out var token) && token.Type != JTokenType.Null;

    /// <summary>Records a problem found by the caller (the first one wins).</summary>
    public void Invalid(string message) => Error ??= message;

    private JToken? Get(string name, bool required)
    {
        if (_source.TryGetValue(name, StringComparison.Ordinal, out var token) && token.Type != JTokenType.Null)
        {
            return token;
        }

        if (required)
        {
            Error ??= $"field '{name}' is required";
        }

        return null;
    }

    private T? Fail<T>(string name, string expected, JToken actual)
        where T : struct
    {
        Error ??= $"field '{name}' must be {expected}, not {JsonPayload.Describe(actual.Type)}";
        return null;
    }

    private T? FailRef<T>(string name, string expected, JToken actual)
        where T : class
    {
        Error ??= $"field '{name}' must be {expected}, not {JsonPayload.Describe(actual.Type)}";
        return null;
    }
}
