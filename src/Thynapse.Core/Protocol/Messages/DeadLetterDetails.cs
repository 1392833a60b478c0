using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// Why an event went to a dead-letter channel (PROTOCOL.md §4.5, §5.5): <c>DLVR.deadLetter</c>, the <c>B DLVR</c>
/// extension's <c>deadLetter</c> (§6.2), and the fields of a dead-lettered <c>DONE</c> (§5.14).
/// </summary>
/// <param name="Channel">The channel the event was published on.</param>
/// <param name="Service">The service that gave up on it.</param>
/// <param name="Attempts">Deliveries made.</param>
/// <param name="Reason">What ended the last attempt, in one of the forms of §5.5.</param>
public sealed record DeadLetterDetails(string Channel, string Service, int Attempts, string Reason)
{
    /// <summary>The channel dead letters of <paramref name="service"/> are published on: <c>$DLQ.&lt;service&gt;</c>.</summary>
    public static string ChannelFor(string service) => $"$DLQ.{service}";

    /// <summary>Reads a <c>deadLetter</c> object: <c>channel</c>, <c>service</c>, <c>attempts</c>, <c>reason</c>, all required.</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out DeadLetterDetails? details, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        var fields = new JsonFields(body);
        return TryReadFields(ref fields, "", out details, out error);
    }

    /// <summary>
    /// Reads a <c>B DLVR</c> record's extension (§6.2): its <c>deadLetter</c>, or null when it has none (a receiver
    /// ignores fields it does not know).
    /// </summary>
    public static bool TryReadExtension(JObject extension, out DeadLetterDetails? details, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(extension);
        var fields = new JsonFields(extension);
        var deadLetter = fields.GetObject("deadLetter");
        details = null;
        if (deadLetter is null)
        {
            error = fields.Error;
            return error is null;
        }

        return TryRead(deadLetter, out details, out error);
    }

    /// <summary>The <c>B DLVR</c> extension <c>{"deadLetter": {…}}</c> as compact UTF-8 JSON (§6.2).</summary>
    public byte[] ToExtension()
    {
        using var writer = new JTokenWriter();
        writer.WriteStartObject();
        writer.WritePropertyName("deadLetter");
        WriteJson(writer);
        writer.WriteEndObject();
        return Encoding.UTF8.GetBytes(writer.Token!.ToString(Formatting.None));
    }

    /// <summary>The <c>deadLetter</c> object.</summary>
    public JObject ToJson()
    {
        using var writer = new JTokenWriter();
        WriteJson(writer);
        return (JObject)writer.Token!;
    }

    /// <summary>Writes the <c>deadLetter</c> object: channel, service, attempts, reason.</summary>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "channel", Channel);
        MessageFields.Write(writer, "service", Service);
        MessageFields.Write(writer, "attempts", Attempts);
        MessageFields.Write(writer, "reason", Reason);
        writer.WriteEndObject();
    }

    /// <summary>Reads the four fields from an object; <paramref name="what"/> prefixes problems (<c>deadLetter.</c>).</summary>
    internal static bool TryReadFields(ref JsonFields fields, string what, [NotNullWhen(true)] out DeadLetterDetails? details, [NotNullWhen(false)] out string? error)
    {
        var channel = fields.GetString("channel", required: true);
        var service = fields.GetString("service", required: true);
        var attempts = fields.GetUInt32("attempts", required: true);
        var reason = fields.GetString("reason", required: true);
        if (attempts is > int.MaxValue)
        {
            fields.Invalid("field 'attempts' must be below 2^31");
        }

        if (fields.Error is { } problem)
        {
            details = null;
            error = what + problem;
            return false;
        }

        details = new DeadLetterDetails(channel!, service!, (int)attempts!.Value, reason!);
        error = null;
        return true;
    }
}
