using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>J ACPT</c>, transmitter → cell (PROTOCOL.md §5.4): a confirmed event was accepted and routed. Cells that read
/// <c>B</c> get <see cref="AcceptRecord"/>s instead. A struct: one per confirmed event.
/// </summary>
/// <param name="Seq">The event's <c>seq</c> (the transmitter's, when the cell gave none).</param>
/// <param name="Receivers">Deliveries made (§5.4); 0: nobody caught it.</param>
public readonly record struct AcceptMessage(ulong Seq, uint Receivers) : IJsonMessage
{
    /// <inheritdoc />
    public Command Command => Command.Acpt;

    /// <summary>Reads a <c>J ACPT</c>: <c>seq</c> and <c>receivers</c>, both required.</summary>
    public static bool TryRead(JObject body, out AcceptMessage message, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        var fields = new JsonFields(body);
        var seq = fields.GetUInt64("seq", required: true);
        var receivers = fields.GetUInt32("receivers", required: true);
        message = new AcceptMessage(seq ?? 0, receivers ?? 0);
        error = fields.Error;
        return error is null;
    }

    /// <inheritdoc />
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "seq", Seq);
        MessageFields.Write(writer, "receivers", Receivers);
        writer.WriteEndObject();
    }

    /// <summary>The payload as a JSON object.</summary>
    public JObject ToJson() => JsonMessage.ToJson(this);

    /// <summary>The header frame <c>J ACPT {…}</c>.</summary>
    public byte[] ToFrame() => JsonMessage.ToFrame(this);
}
