using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>CRED</c>, transmitter → cell (PROTOCOL.md §5.18, §8.4): more publishing credit, in bytes of <c>EVNT</c>
/// messages, added to what the cell holds.
/// </summary>
/// <param name="Credit">The credit granted (not the new total).</param>
public readonly record struct CreditMessage(long Credit) : IJsonMessage
{
    /// <inheritdoc />
    public Command Command => Command.Cred;

    /// <summary>Reads a <c>CRED</c>: <c>credit</c>, a required non-negative integer.</summary>
    public static bool TryRead(JObject body, out CreditMessage message, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        var fields = new JsonFields(body);
        message = new CreditMessage(fields.GetCount("credit", required: true) ?? 0);
        error = fields.Error;
        return error is null;
    }

    /// <inheritdoc />
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "credit", Credit);
        writer.WriteEndObject();
    }

    /// <summary>The payload as a JSON object.</summary>
    public JObject ToJson() => JsonMessage.ToJson(this);

    /// <summary>The header frame <c>J CRED {…}</c>.</summary>
    public byte[] ToFrame() => JsonMessage.ToFrame(this);
}
