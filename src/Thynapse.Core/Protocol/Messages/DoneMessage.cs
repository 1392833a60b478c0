using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>J DONE</c>, transmitter → cell (PROTOCOL.md §5.14): an event published with <c>complete</c> has completed. A
/// dead-lettered outcome always travels as <c>J</c>, naming what gave up; cells that read <c>B</c> get completed
/// outcomes as <see cref="DoneRecord"/>s.
/// </summary>
/// <param name="Seq">The event's <c>seq</c>.</param>
/// <param name="Receivers">As in <c>ACPT</c>.</param>
/// <param name="Outcome"><c>completed</c> or <c>dead_lettered</c>.</param>
public sealed record DoneMessage(ulong Seq, uint Receivers, CompletionOutcome Outcome) : JsonRecord
{
    /// <summary>Only for <see cref="CompletionOutcome.DeadLettered"/>: the (first) service that gave up, the event's channel, attempts and reason.</summary>
    public DeadLetterDetails? DeadLetter { get; init; }

    /// <inheritdoc />
    public override Command Command => Command.Done;

    /// <summary>The wire name of an outcome: <c>completed</c> or <c>dead_lettered</c>.</summary>
    public static string NameOf(CompletionOutcome outcome) => outcome == CompletionOutcome.DeadLettered ? "dead_lettered" : "completed";

    /// <summary>
    /// Reads a <c>J DONE</c>: <c>seq</c>, <c>receivers</c> and <c>outcome</c> required; a dead-lettered one also needs
    /// <c>service</c>, <c>channel</c>, <c>attempts</c> and <c>reason</c>.
    /// </summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out DoneMessage? message, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, Read, out message, out _, out error);

    private static DoneMessage Read(ref JsonFields fields)
    {
        var seq = fields.GetUInt64("seq", required: true);
        var receivers = fields.GetUInt32("receivers", required: true);
        var outcomeText = fields.GetString("outcome", required: true);
        CompletionOutcome outcome = default;
        switch (outcomeText)
        {
            case null or "completed":
                break;
            case "dead_lettered":
                outcome = CompletionOutcome.DeadLettered;
                break;
            default:
                fields.Invalid("field 'outcome' must be \"completed\" or \"dead_lettered\"");
                break;
        }

        var deadLetter = fields.Error is null && outcome == CompletionOutcome.DeadLettered ? DeadLetterDetails.Read(ref fields) : null;
        return new DoneMessage(seq ?? 0, receivers ?? 0, outcome) { DeadLetter = deadLetter };
    }

    /// <inheritdoc />
    /// <remarks>The transmitter's order: seq, receivers, outcome, then service, channel, attempts, reason.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "seq", Seq);
        MessageFields.Write(writer, "receivers", Receivers);
        MessageFields.Write(writer, "outcome", NameOf(Outcome));
        if (DeadLetter is { } deadLetter)
        {
            MessageFields.Write(writer, "service", deadLetter.Service);
            MessageFields.Write(writer, "channel", deadLetter.Channel);
            MessageFields.Write(writer, "attempts", deadLetter.Attempts);
            MessageFields.Write(writer, "reason", deadLetter.Reason);
        }
    }
}
