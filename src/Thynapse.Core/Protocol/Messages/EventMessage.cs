using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>J EVNT</c>, cell → transmitter (PROTOCOL.md §5.3): publish an event; its body is the message's second frame,
/// not part of this payload. A struct: it is read once per event and passed on by <c>in</c>.
/// </summary>
/// <remarks>
/// This is the payload of the <c>J</c> form. The hot form is <c>B EVNT</c>, read in place by
/// <see cref="EventRecordReader"/> without any JSON (§6.1); only a record's extension, when it has one, is read as an
/// <see cref="EventExtension"/>.
/// </remarks>
/// <param name="Channel">The channel (§3.1).</param>
public readonly record struct EventMessage(string Channel) : IJsonMessage
{
    /// <summary><c>seq</c>, when the cell numbered the event itself; null: the transmitter numbers it (§5.3).</summary>
    public ulong? Seq { get; init; }

    /// <summary><c>confirm</c>: answer with <c>ACPT</c> (or <c>ERRR</c>).</summary>
    public bool Confirm { get; init; }

    /// <summary><c>complete</c>: answer with <c>DONE</c> once the event completed (§4.5).</summary>
    public bool Complete { get; init; }

    /// <summary><c>target</c> and <c>service</c> (§4.6).</summary>
    public EventExtension Extension { get; init; }

    /// <summary><c>key</c>: sticky anycatch (§4.6); null when absent.</summary>
    public string? Key { get; init; }

    /// <summary><c>resend</c>: the event is a resend (§4.5).</summary>
    public bool Resend { get; init; }

    /// <summary>The request's <c>ref</c>, when it had one (a number or a string).</summary>
    public JValue? Ref { get; init; }

    /// <summary>
    /// Only on a message <see cref="TryRead"/> refused: <c>seq</c> was present but not a sequence number. The refusal
    /// then names no <c>seq</c>; otherwise it names <see cref="Seq"/>, or the one the transmitter gave the event (§5.11).
    /// </summary>
    public bool HasInvalidSeq { get; init; }

    /// <inheritdoc />
    public Command Command => Command.Evnt;

    /// <summary>The flags of the equivalent <c>B EVNT</c> record: <c>confirm</c>, <c>complete</c>, <c>resend</c>.</summary>
    public EventRecordFlags Flags =>
        (Confirm ? EventRecordFlags.Confirm : 0) | (Complete ? EventRecordFlags.Completion : 0) | (Resend ? EventRecordFlags.Resend : 0);

    /// <summary>
    /// Reads and checks a <c>J EVNT</c> payload as the transmitter does, in its order: field types and the key's
    /// length (<c>INVALID_FIELD</c>), the channel (<c>INVALID_CHANNEL</c>), the target (<c>INVALID_QUERY</c>,
    /// <c>QUERY_TOO_DEEP</c>, <c>QUERY_TOO_LARGE</c>), the service (<c>INVALID_FIELD</c>), then a reserved channel
    /// (<c>RESERVED_CHANNEL</c>). On a refusal <paramref name="message"/> still holds <see cref="Seq"/> and
    /// <see cref="HasInvalidSeq"/>, which decide the <c>seq</c> the <c>ERRR</c> names.
    /// </summary>
    /// <remarks>
    /// Costs what the transmitter's reading of <c>J EVNT</c> costs today, less the <see cref="FieldReader"/>: the payload
    /// is already a <see cref="JObject"/> (every <c>J</c> payload is parsed before the session check), and the fields are
    /// looked up in it once each.
    /// </remarks>
    public static bool TryRead(JObject body, MessageLimits limits, out EventMessage message, out ThynapseErrorCode code, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(limits);
        var fields = new JsonFields(body);
        var channel = fields.GetString("channel", required: true);
        var seq = fields.GetUInt64("seq");
        var confirm = fields.GetBoolean("confirm") ?? false;
        var complete = fields.GetBoolean("complete") ?? false;
        var resend = fields.GetBoolean("resend") ?? false;
        var key = fields.GetString("key");
        if (key is not null && Encoding.UTF8.GetByteCount(key) > MessageLimits.MaxKeyBytes)
        {
            fields.Invalid($"field 'key' has more than {MessageLimits.MaxKeyBytes} bytes of UTF-8");
        }

        message = new EventMessage(channel ?? "")
        {
            Seq = seq,
            Confirm = confirm,
            Complete = complete,
            Key = key,
            Resend = resend,
            Ref = fields.Ref,
            HasInvalidSeq = seq is null && fields.Has("seq"),
        };
        if (fields.Error is { } fieldError)
        {
            code = ThynapseErrorCode.InvalidField;
            error = fieldError;
            return false;
        }

        // The text first, so that a non-ASCII character is reported as such (the router works on bytes).
        if (!Core.Channel.TryValidate(channel, out var channelError))
        {
            code = ThynapseErrorCode.InvalidChannel;
            error = $"invalid channel: {channelError}";
            return false;
        }

        if (!EventExtension.TryRead(body, limits, out var extension, out code, out error))
        {
            return false;
        }

        message = message with { Extension = extension };
        if (Core.Channel.IsReserved(channel))
        {
            code = ThynapseErrorCode.ReservedChannel;
            error = "channels starting with '$' belong to the transmitters";
            return false;
        }

        code = ThynapseErrorCode.None;
        error = null;
        return true;
    }

    /// <inheritdoc />
    /// <remarks>The order of PROTOCOL.md §5.3: channel, seq, confirm, complete, target, service, key, resend, ref.</remarks>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "channel", Channel);
        MessageFields.WriteIfPresent(writer, "seq", Seq);
        MessageFields.WriteIfSet(writer, "confirm", Confirm);
        MessageFields.WriteIfSet(writer, "complete", Complete);
        Extension.WriteFields(writer);
        MessageFields.WriteIfPresent(writer, "key", Key);
        MessageFields.WriteIfSet(writer, "resend", Resend);
        MessageFields.WriteRef(writer, Ref);
        writer.WriteEndObject();
    }

    /// <summary>The payload as a JSON object.</summary>
    public JObject ToJson() => JsonMessage.ToJson(this);

    /// <summary>The header frame <c>J EVNT {…}</c>; the body goes in a second frame.</summary>
    public byte[] ToFrame() => JsonMessage.ToFrame(this);
}
