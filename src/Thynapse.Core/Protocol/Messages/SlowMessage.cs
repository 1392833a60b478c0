using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>SLOW</c>, transmitter → cell (PROTOCOL.md §5.10, §8.2): what the transmitter dropped for the cell since its last
/// <c>SLOW</c>, because the cell's queue was full or its backlog was dropped.
/// </summary>
/// <param name="Missed">Deliveries dropped since the last <c>SLOW</c>.</param>
/// <param name="Total">Deliveries dropped since the session began.</param>
public sealed record SlowMessage(long Missed, long Total) : JsonRecord
{
    /// <summary><c>replies</c>: answers and confirmations dropped since the last <c>SLOW</c>; 0 is left out of the payload.</summary>
    public long Replies { get; init; }

    /// <inheritdoc />
    public override Command Command => Command.Slow;

    /// <summary>Reads a <c>SLOW</c>: <c>missed</c> and <c>total</c> required, <c>replies</c> 0 when absent.</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out SlowMessage? message, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(
            body,
            static (ref JsonFields fields) => new SlowMessage(fields.GetCount("missed", required: true) ?? 0, fields.GetCount("total", required: true) ?? 0)
            {
                Replies = fields.GetCount("replies") ?? 0,
            },
            out message,
            out _,
            out error);

    /// <inheritdoc />
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "missed", Missed);
        MessageFields.Write(writer, "total", Total);
        MessageFields.WriteIfPresent(writer, "replies", Replies > 0 ? Replies : (long?)null);
    }
}
