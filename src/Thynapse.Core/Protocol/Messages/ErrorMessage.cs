using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>ERRR</c>, transmitter → cell (PROTOCOL.md §5.11, §7): a command was refused; the connection stays usable.
/// </summary>
/// <param name="Code">The error code.</param>
/// <param name="Message">The explanation, for humans.</param>
public sealed record ErrorMessage(ThynapseErrorCode Code, string Message) : JsonRequest
{
    /// <summary><c>name</c>: the code's wire name (<see cref="ErrorCodeNames"/>; as read, for a code this side does not know).</summary>
    public string Name { get; init; } = ErrorCodeNames.Of(Code);

    /// <summary>
    /// <c>command</c>: the refused command's four letters, whenever bytes 2–5 of its header were four letters <c>A</c>–<c>Z</c>
    /// (even a command the transmitter does not know); null otherwise.
    /// </summary>
    public string? RefusedCommand { get; init; }

    /// <summary><c>seq</c>: the refused event's.</summary>
    public ulong? Seq { get; init; }

    /// <summary><c>first</c>: a <c>B EVNT</c> frame refused with <c>NOT_WELCOMED</c>, the lowest <c>seq</c> it carried.</summary>
    public ulong? First { get; init; }

    /// <summary><c>last</c>: likewise, the highest <c>seq</c>.</summary>
    public ulong? Last { get; init; }

    /// <summary><c>count</c>: likewise, the number of events in the frame, none of them routed.</summary>
    public int? Count { get; init; }

    /// <inheritdoc />
    public override Command Command => Command.Errr;

    /// <summary>
    /// Reads an <c>ERRR</c>: <c>code</c>, <c>name</c> and <c>message</c> required; <c>command</c>, <c>ref</c>, <c>seq</c>,
    /// <c>first</c>, <c>last</c>, <c>count</c> optional. A code this side does not know is kept as its number.
    /// </summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out ErrorMessage? message, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, Read, out message, out _, out error);

    private static ErrorMessage? Read(ref JsonFields fields)
    {
        var code = fields.GetUInt32("code", required: true);
        var name = fields.GetString("name", required: true);
        var text = fields.GetString("message", required: true);
        var command = fields.GetString("command");
        var seq = fields.GetUInt64("seq");
        var first = fields.GetUInt64("first");
        var last = fields.GetUInt64("last");
        var count = fields.GetUInt32("count");
        if (code is > int.MaxValue || count is > int.MaxValue)
        {
            fields.Invalid(code is > int.MaxValue ? "field 'code' must be below 2^31" : "field 'count' must be below 2^31");
        }

        return fields.Error is null
            ? new ErrorMessage((ThynapseErrorCode)code!.Value, text!)
            {
                Name = name!,
                RefusedCommand = command,
                Ref = fields.Ref,
                Seq = seq,
                First = first,
                Last = last,
                Count = (int?)count,
            }
            : null;
    }

    /// <inheritdoc />
    /// <remarks>The transmitter's order: code, name, message, command, ref, seq, then first, last, count.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "code", (int)Code);
        MessageFields.Write(writer, "name", Name);
        MessageFields.Write(writer, "message", Message);
        MessageFields.WriteIfPresent(writer, "command", RefusedCommand);
        MessageFields.WriteRef(writer, Ref);
        MessageFields.WriteIfPresent(writer, "seq", Seq);
        MessageFields.WriteIfPresent(writer, "first", First);
        MessageFields.WriteIfPresent(writer, "last", Last);
        MessageFields.WriteIfPresent(writer, "count", Count);
    }
}
