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
    public static bool TryRead(JObject body, [NotNullWhen(true)] out DeadLetterDetails? details, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, Read, out details, out _, out error);

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
    public JObject ToJson() => JsonMessage.ToJson(WriteJson);

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

    /// <summary>The fields of a <c>deadLetter</c> object, or of a dead-lettered <c>DONE</c>: null with the problem in <paramref name="fields"/>.</summary>
    internal static DeadLetterDetails? Read(ref JsonFields fields)
    {
        var channel = fields.GetString("channel", required: true);
        var service = fields.GetString("service", required: true);
        var attempts = fields.GetUInt32("attempts", required: true);
        var reason = fields.GetString("reason", required: true);
        if (attempts is > int.MaxValue)
        {
            fields.Invalid("field 'attempts' must be below 2^31");
        }

        return fields.Error is null ? new DeadLetterDetails(channel!, service!, (int)attempts!.Value, reason!) : null;
    }
}
