using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>Reads a message, or an object in one, from its fields: null with the problem in <paramref name="fields"/>.</summary>
internal delegate T? FieldsReader<T>(ref JsonFields fields)
    where T : class;

/// <summary>
/// Reading and writing pieces several messages share: <c>ref</c>, tags, string arrays, catch modes, optional fields,
/// the read of a message or of an object inside one.
/// </summary>
internal static class MessageFields
{
    /// <summary>
    /// The request's <c>ref</c> when it is a number or a string (PROTOCOL.md §5): what an answer copies. A <c>ref</c> of
    /// another type (a fraction, an object, …) is not an error; it is not copied.
    /// </summary>
    public static JValue? ReadRef(JObject body) =>
        body.TryGetValue("ref", StringComparison.Ordinal, out var token) && token is JValue { Type: JTokenType.Integer or JTokenType.Float or JTokenType.String } reference
            ? reference
            : null;

    public static void WriteRef(JsonWriter writer, JValue? reference)
    {
        if (reference is not null)
        {
            writer.WritePropertyName("ref");
            reference.WriteTo(writer);
        }
    }

    /// <summary>
    /// Reads a <c>tags</c> array (HELO, META, LIST, WTCH; PROTOCOL.md §5.1): at most <see cref="MessageLimits.MaxTags"/>
    /// strings of 1 to <see cref="MessageLimits.MaxTagLength"/> characters, duplicates dropped (the first kept).
    /// Null with the problem in <paramref name="fields"/>.
    /// </summary>
    public static string[]? ReadTags(JArray tags, ref JsonFields fields)
    {
        if (tags.Count > MessageLimits.MaxTags)
        {
            fields.Invalid($"field 'tags' has {tags.Count} entries; the limit is {MessageLimits.MaxTags}");
            return null;
        }

        var result = new List<string>(tags.Count);
        foreach (var tag in tags)
        {
            if (tag.Type != JTokenType.String || (string?)tag is not { Length: > 0 and <= MessageLimits.MaxTagLength } text)
            {
                fields.Invalid($"field 'tags' must be an array of strings of 1 to {MessageLimits.MaxTagLength} characters");
                return null;
            }

            if (!result.Contains(text))
            {
                result.Add(text);
            }
        }

        return [.. result];
    }

    /// <summary>Reads an array that must hold strings only; null with <paramref name="problem"/> in <paramref name="fields"/>.</summary>
    public static string[]? ReadStrings(JArray? array, ref JsonFields fields, string problem)
    {
        if (array is null)
        {
            return null;
        }

        var result = new string[array.Count];
        for (var i = 0; i < result.Length; i++)
        {
            if (array[i].Type != JTokenType.String)
            {
                fields.Invalid(problem);
                return null;
            }

            result[i] = (string)array[i]!;
        }

        return result;
    }

    public static void WriteStrings(JsonWriter writer, string name, IReadOnlyList<string> values) =>
        WriteArray(writer, name, values, static (json, value) => json.WriteValue(value));

    /// <summary>
    /// Writes the property <paramref name="name"/>: an array of <paramref name="items"/>, each written by
    /// <paramref name="write"/> (a static lambda: nothing allocated).
    /// </summary>
    public static void WriteArray<T>(JsonWriter writer, string name, IReadOnlyList<T> items, Action<JsonWriter, T> write)
    {
        Named(writer, name).WriteStartArray();
        for (var i = 0; i < items.Count; i++)
        {
            write(writer, items[i]);
        }

        writer.WriteEndArray();
    }

    public static void Write(JsonWriter writer, string name, string value) => Named(writer, name).WriteValue(value);

    public static void Write(JsonWriter writer, string name, long value) => Named(writer, name).WriteValue(value);

    public static void Write(JsonWriter writer, string name, ulong value) => Named(writer, name).WriteValue(value);

    public static void Write(JsonWriter writer, string name, bool value) => Named(writer, name).WriteValue(value);

    public static void Write(JsonWriter writer, string name, JToken value) => value.WriteTo(Named(writer, name));

    // The optional fields of the messages: left out when absent (null), and a flag only when it is set.

    public static void WriteIfPresent(JsonWriter writer, string name, long? value)
    {
        if (value is { } present)
        {
            Write(writer, name, present);
        }
    }

    public static void WriteIfPresent(JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            Write(writer, name, value);
        }
    }

    public static void WriteIfPresent(JsonWriter writer, string name, ulong? value)
    {
        if (value is { } present)
        {
            Write(writer, name, present);
        }
    }

    public static void WriteIfPresent(JsonWriter writer, string name, IReadOnlyList<string>? values)
    {
        if (values is not null)
        {
            WriteStrings(writer, name, values);
        }
    }

    public static void WriteIfSet(JsonWriter writer, string name, bool flag)
    {
        if (flag)
        {
            Write(writer, name, true);
        }
    }

    public static void WriteIfPresent(JsonWriter writer, string name, JToken? value)
    {
        if (value is not null)
        {
            Write(writer, name, value);
        }
    }

    /// <summary>Writes the property name; the field's value follows.</summary>
    private static JsonWriter Named(JsonWriter writer, string name)
    {
        writer.WritePropertyName(name);
        return writer;
    }

    /// <summary>The wire name of a catch mode (PROTOCOL.md §3.2).</summary>
    public static string NameOf(Catch mode) => mode == Catch.Any ? "any" : "multi";

    /// <summary>
    /// Reads a message: <paramref name="read"/> over the fields of <paramref name="body"/>, read under
    /// <paramref name="limits"/> (<see cref="JsonFields.Limits"/>; a request's <c>ref</c> is <see cref="JsonFields.Ref"/>),
    /// ended by <see cref="Done"/> with the first problem's code.
    /// </summary>
    public static bool TryRead<T>(
        JObject body,
        MessageLimits limits,
        FieldsReader<T> read,
        [NotNullWhen(true)] out T? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(limits);
        var fields = new JsonFields(body, limits);
        return Done(ref fields, read(ref fields), out message, out code, out error);
    }

    /// <summary>Reads a message under <see cref="MessageLimits.Default"/> (see the overload): what a cell reads from a transmitter.</summary>
    public static bool TryRead<T>(JObject body, FieldsReader<T> read, [NotNullWhen(true)] out T? message, out ThynapseErrorCode code, [NotNullWhen(false)] out string? error)
        where T : class =>
        TryRead(body, MessageLimits.Default, read, out message, out code, out error);

    /// <summary>
    /// Reads <paramref name="body"/>, an object inside a message, with <paramref name="read"/>: null with its problem,
    /// after <paramref name="what"/> (<c>"limits: "</c>, <c>"cell: "</c>, …), in <paramref name="outer"/>.
    /// </summary>
    public static T? ReadObject<T>(JObject body, ref JsonFields outer, string what, FieldsReader<T> read)
        where T : class
    {
        var fields = new JsonFields(body, outer.Limits);
        var result = read(ref fields);
        if (fields.Error is { } problem)
        {
            outer.Refuse(fields.Code, what + problem);
            return null;
        }

        return result;
    }

    /// <summary>
    /// Ends a reader: the first problem in <paramref name="fields"/> with its code (<c>INVALID_FIELD</c> unless refused
    /// with another), or <paramref name="read"/> (which must not be null when there was none).
    /// </summary>
    public static bool Done<T>(
        ref JsonFields fields,
        T? read,
        [NotNullWhen(true)] out T? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
        where T : class
    {
        if (fields.Error is not null || read is null)
        {
            message = null;
            code = fields.Error is null ? ThynapseErrorCode.InvalidField : fields.Code;
            error = fields.Error ?? "the message could not be read";
            return false;
        }

        message = read;
        code = ThynapseErrorCode.None;
        error = null;
        return true;
    }
}
