using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// Reads typed fields from a command's JSON object and remembers the first problem, so that a handler reads
/// every field and then checks <see cref="Error"/> once.
/// </summary>
public sealed class FieldReader
{
    // One implementation of the checks and their wording, shared with the typed messages (Protocol/Messages).
    private JsonFields _fields;

    /// <summary>Reads fields of <paramref name="source"/>.</summary>
    public FieldReader(JObject source) => _fields = new JsonFields(source ?? throw new ArgumentNullException(nameof(source)));

    /// <summary>The first problem found (naming the field), or null.</summary>
    public string? Error => _fields.Error;

    /// <summary>A string field; null when absent and not required.</summary>
    public string? GetString(string name, bool required = false, int maxLength = int.MaxValue) => _fields.GetString(name, required, maxLength);

    /// <summary>A non-negative integer field that fits in 64 bits.</summary>
    public ulong? GetUInt64(string name, bool required = false) => _fields.GetUInt64(name, required);

    /// <summary>
    /// The value of a JSON integer in 0 … 2^64−1, however Json.NET holds it (a long, or a BigInteger past 2^63); null
    /// for anything else. Never throws, unlike <c>Value&lt;long&gt;()</c> on a large integer.
    /// </summary>
    public static ulong? UInt64Of(JToken token) => JsonFields.UInt64Of(token);

    /// <summary>A non-negative integer field that fits in 32 bits.</summary>
    public uint? GetUInt32(string name, bool required = false) => _fields.GetUInt32(name, required);

    /// <summary>A boolean field.</summary>
    public bool? GetBoolean(string name, bool required = false) => _fields.GetBoolean(name, required);

    /// <summary>An object field.</summary>
    public JObject? GetObject(string name, bool required = false) => _fields.GetObject(name, required);

    /// <summary>An array field.</summary>
    public JArray? GetArray(string name, bool required = false) => _fields.GetArray(name, required);

    /// <summary>
    /// A <c>tags</c> array as HELO, META and discovery filters read it (at most <see cref="MessageLimits.MaxTags"/>
    /// strings of 1 to <see cref="MessageLimits.MaxTagLength"/> characters, duplicates dropped); null with the problem recorded.
    /// </summary>
    public string[]? ReadTags(JArray tags) => MessageFields.ReadTags(tags ?? throw new ArgumentNullException(nameof(tags)), ref _fields);

    /// <summary>True when the field is present and not null, whatever its type.</summary>
    public bool Has(string name) => _fields.Has(name);

    /// <summary>Records a problem found by the caller (the first one wins).</summary>
    public void Invalid(string message) => _fields.Invalid(message);
}
