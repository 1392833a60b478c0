using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>Reading and writing pieces several messages share: <c>ref</c>, tags, string arrays, catch modes.</summary>
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

    public static void WriteStrings(JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WritePropertyName(name);
        writer.WriteStartArray();
        foreach (var value in values)
        {
            writer.WriteValue(value);
        }

        writer.WriteEndArray();
    }

    public static void Write(JsonWriter writer, string name, string value)
    {
        writer.WritePropertyName(name);
        writer.WriteValue(value);
    }

    public static void Write(JsonWriter writer, string name, long value)
    {
        writer.WritePropertyName(name);
        writer.WriteValue(value);
    }

    public static void Write(JsonWriter writer, string name, ulong value)
    {
        writer.WritePropertyName(name);
        writer.WriteValue(value);
    }

    public static void Write(JsonWriter writer, string name, bool value)
    {
        writer.WritePropertyName(name);
        writer.WriteValue(value);
    }

    public static void Write(JsonWriter writer, string name, JToken value)
    {
        writer.WritePropertyName(name);
        value.WriteTo(writer);
    }

    /// <summary>The wire name of a catch mode (PROTOCOL.md §3.2).</summary>
    public static string NameOf(Catch mode) => mode == Catch.Any ? "any" : "multi";

    /// <summary>
    /// Ends a reader whose only refusal is <c>INVALID_FIELD</c>: the first problem in <paramref name="fields"/>, or
    /// <paramref name="read"/> (which must not be null when there was none).
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
            code = ThynapseErrorCode.InvalidField;
            error = fields.Error ?? "the message could not be read";
            return false;
        }

        message = read;
        code = ThynapseErrorCode.None;
        error = null;
        return true;
    }
}
