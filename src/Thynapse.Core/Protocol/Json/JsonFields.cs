using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// The field checks of <see cref="FieldReader"/> as a mutable struct, so that a message reader pays no allocation for
/// them: reads typed fields of a command's JSON object and remembers the first problem (the first one wins). Pass it
/// by <c>ref</c>; a copy keeps its own <see cref="Error"/>.
/// </summary>
/// <remarks>
/// The texts are the transmitter's wording of <c>INVALID_FIELD</c> (PROTOCOL.md §2.1: a field whose value is
/// <c>null</c> counts as absent).
/// </remarks>
internal struct JsonFields(JObject source, MessageLimits? limits = null)
{
    private readonly JObject _source = source;

    private readonly MessageLimits? _limits = limits;

    private ThynapseErrorCode _code;

    /// <summary>The first problem found (naming the field), or null.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// The code <see cref="Error"/> is refused with: <c>INVALID_FIELD</c> unless it came from <see cref="Refuse"/>;
    /// <see cref="ThynapseErrorCode.None"/> while there is no problem.
    /// </summary>
    public readonly ThynapseErrorCode Code => Error is null ? ThynapseErrorCode.None : _code == ThynapseErrorCode.None ? ThynapseErrorCode.InvalidField : _code;

    /// <summary>The limits the message is read under (<see cref="MessageLimits.Default"/> unless given).</summary>
    public readonly MessageLimits Limits => _limits ?? MessageLimits.Default;

    /// <summary>The object's <c>ref</c>, as an answer copies it (<see cref="MessageFields.ReadRef"/>).</summary>
    public readonly JValue? Ref => MessageFields.ReadRef(_source);

    public string? GetString(string name, bool required = false, int maxLength = int.MaxValue)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        if (token.Type != JTokenType.String)
        {
            Fail(name, "a string", token);
            return null;
        }

        var value = (string)token!;
        if (value.Length > maxLength)
        {
            Error ??= $"field '{name}' is longer than {maxLength} characters";
            return null;
        }

        return value;
    }

    public ulong? GetUInt64(string name, bool required = false)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        if (token.Type != JTokenType.Integer)
        {
            Fail(name, "a non-negative integer", token);
            return null;
        }

        if (UInt64Of(token) is { } value)
        {
            return value;
        }

        Fail(name, "a non-negative integer below 2^64", token);
        return null;
    }

    /// <summary>A JSON integer in 0 … 2^64−1 (a long, or a BigInteger past 2^63), or null; never throws.</summary>
    public static ulong? UInt64Of(JToken token) => token is JValue { Type: JTokenType.Integer, Value: var raw }
        ? raw switch
        {
            long l when l >= 0 => (ulong)l,
            ulong u => u,
            System.Numerics.BigInteger b when b >= 0 && b <= ulong.MaxValue => (ulong)b,
            _ => null,
        }
        : null;

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

    /// <summary>A non-negative integer that fits in a <see cref="long"/> (counts and milliseconds the transmitter sends).</summary>
    public long? GetCount(string name, bool required = false)
    {
        var value = GetUInt64(name, required);
        if (value is > long.MaxValue)
        {
            Error ??= $"field '{name}' must be below 2^63";
            return null;
        }

        return (long?)value;
    }

    public bool? GetBoolean(string name, bool required = false)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        if (token.Type != JTokenType.Boolean)
        {
            Fail(name, "a boolean", token);
            return null;
        }

        return (bool)token;
    }

    public JObject? GetObject(string name, bool required = false)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        if (token is not JObject value)
        {
            Fail(name, "an object", token);
            return null;
        }

        return value;
    }

    public JArray? GetArray(string name, bool required = false)
    {
        var token = Get(name, required);
        if (token is null)
        {
            return null;
        }

        if (token is not JArray value)
        {
            Fail(name, "an array", token);
            return null;
        }

        return value;
    }

    /// <summary>A THID string (either case, PROTOCOL.md §3.3).</summary>
    public Thid GetThid(string name, bool required = false)
    {
        var text = GetString(name, required);
        if (text is null)
        {
            return default;
        }

        if (!Thid.TryParse(text, out var thid))
        {
            Error ??= $"field '{name}' must be a THID: 40 hexadecimal characters";
        }

        return thid;
    }

    public readonly bool Has(string name) => _source.TryGetValue(name, StringComparison.Ordinal, out var token) && token.Type != JTokenType.Null;

    public void Invalid(string message) => Error ??= message;

    /// <summary>Records a problem refused with <paramref name="code"/> (the first problem wins, with its code).</summary>
    public void Refuse(ThynapseErrorCode code, string message)
    {
        if (Error is null)
        {
            Error = message;
            _code = code;
        }
    }

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

    private void Fail(string name, string expected, JToken actual) =>
        Error ??= $"field '{name}' must be {expected}, not {JsonPayload.Describe(actual.Type)}";
}
