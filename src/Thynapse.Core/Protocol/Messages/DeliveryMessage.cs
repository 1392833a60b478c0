using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>J DLVR</c>, transmitter → cell (PROTOCOL.md §5.5): an event for this cell; its body is the message's second
/// frame. Cells that read <c>B</c> get <c>B DLVR</c> records instead (§6.2). A struct: one per delivery.
/// </summary>
/// <param name="Channel">The event's channel (<c>$DLQ.&lt;service&gt;</c> for a dead letter).</param>
/// <param name="Id">The event's THID (§4.3; a dead letter's is hashed over its original channel).</param>
/// <param name="Origin">The publisher's THID.</param>
/// <param name="Seq">The publisher's sequence number.</param>
/// <param name="Mode"><c>multi</c> or <c>any</c>.</param>
public readonly record struct DeliveryMessage(string Channel, Thid Id, Thid Origin, ulong Seq, Catch Mode) : IJsonMessage
{
    /// <summary>Anycatch only: the id of the subscription that caught it.</summary>
    public uint? Sub { get; init; }

    /// <summary>Anycatch only: the delivery tag (unique per transmitter, never 0).</summary>
    public ulong? Tag { get; init; }

    /// <summary>Anycatch only: 1 for the first delivery.</summary>
    public int? Attempt { get; init; }

    /// <summary>Dead letters only (§4.5).</summary>
    public DeadLetterDetails? DeadLetter { get; init; }

    /// <inheritdoc />
    public Command Command => Command.Dlvr;

    /// <summary>
    /// An event's THID as its deliveries carry it (§4.3, §5.5): hashed over the channel it was published on, which for a
    /// dead letter is <see cref="DeadLetterDetails.Channel"/>, not <c>$DLQ.&lt;service&gt;</c>.
    /// </summary>
    public static Thid IdOf(Thid origin, ulong seq, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> body, DeadLetterDetails? deadLetter) =>
        deadLetter is null ? Thid.ForEvent(origin, seq, channel, body) : Thid.ForEvent(origin, seq, Encoding.ASCII.GetBytes(deadLetter.Channel), body);

    /// <summary>
    /// Reads a <c>J DLVR</c> header: <c>channel</c>, <c>id</c>, <c>origin</c>, <c>seq</c> and <c>mode</c> required; an
    /// anycatch delivery also needs <c>sub</c>, <c>tag</c> and <c>attempt</c>; <c>deadLetter</c> optional.
    /// </summary>
    public static bool TryRead(JObject body, out DeliveryMessage message, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        message = default;
        var fields = new JsonFields(body);
        var channel = fields.GetString("channel", required: true);
        var id = fields.GetThid("id", required: true);
        var origin = fields.GetThid("origin", required: true);
        var seq = fields.GetUInt64("seq", required: true);
        var modeText = fields.GetString("mode", required: true);
        var mode = modeText == "any" ? Catch.Any : Catch.Multi;
        if (modeText is not (null or "any" or "multi"))
        {
            fields.Invalid("field 'mode' must be \"multi\" or \"any\"");
        }

        var anycatch = mode == Catch.Any;
        var sub = fields.GetUInt32("sub", required: anycatch);
        var tag = fields.GetUInt64("tag", required: anycatch);
        var attempt = fields.GetUInt32("attempt", required: anycatch);
        if (attempt is > int.MaxValue)
        {
            fields.Invalid("field 'attempt' must be below 2^31");
        }

        var deadLetterField = fields.GetObject("deadLetter");
        var deadLetter = fields.Error is null && deadLetterField is not null
            ? MessageFields.ReadObject(deadLetterField, ref fields, "deadLetter: ", DeadLetterDetails.Read)
            : null;

        error = fields.Error;
        if (error is not null)
        {
            return false;
        }

        message = new DeliveryMessage(channel!, id, origin, seq!.Value, mode)
        {
            Sub = sub,
            Tag = tag,
            Attempt = (int?)attempt,
            DeadLetter = deadLetter,
        };
        return true;
    }

    /// <inheritdoc />
    /// <remarks>The transmitter's order: channel, id, origin, seq, mode, then sub, tag, attempt, then deadLetter.</remarks>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "channel", Channel);
        MessageFields.Write(writer, "id", Id.ToString());
        MessageFields.Write(writer, "origin", Origin.ToString());
        MessageFields.Write(writer, "seq", Seq);
        MessageFields.Write(writer, "mode", MessageFields.NameOf(Mode));
        MessageFields.WriteIfPresent(writer, "sub", Sub);
        MessageFields.WriteIfPresent(writer, "tag", Tag);
        MessageFields.WriteIfPresent(writer, "attempt", Attempt);
        if (DeadLetter is { } deadLetter)
        {
            writer.WritePropertyName("deadLetter");
            deadLetter.WriteJson(writer);
        }

        writer.WriteEndObject();
    }

    /// <summary>The header as a JSON object.</summary>
    public JObject ToJson() => JsonMessage.ToJson(this);

    /// <summary>The header frame <c>J DLVR {…}</c>; the body goes in a second frame (always present, possibly empty).</summary>
    public byte[] ToFrame() => JsonMessage.ToFrame(this);
}
