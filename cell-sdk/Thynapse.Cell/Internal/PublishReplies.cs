using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The transmitter's answers to awaited publishes (<c>ACPT</c>, <c>DONE</c>: PROTOCOL.md §5.4, §5.14), handed to the
/// publishes waiting for them in the <see cref="PublishBuffer"/>. Socket thread.
/// </summary>
internal sealed class PublishReplies(PublishBuffer publishes)
{
    /// <summary>One <c>J ACPT</c>.</summary>
    public void Accept(JObject accept) =>
        publishes.TryAnswer(accept.Value<ulong>("seq"), new PublishAnswer(accept.Value<int>("receivers") > 0 ? PublishStatus.Accepted : PublishStatus.NoReceiver, accept.Value<int>("receivers")));

    /// <summary>One <c>B ACPT</c> frame.</summary>
    public void Accepts(ReadOnlySpan<byte> payload)
    {
        var records = payload.Length / AcceptRecord.Length;
        for (var i = 0; i < records; i++)
        {
            var (sequence, receivers) = AcceptRecord.Read(payload, i);
            publishes.TryAnswer(sequence, new PublishAnswer(receivers > 0 ? PublishStatus.Accepted : PublishStatus.NoReceiver, (int)receivers));
        }
    }

    /// <summary>One <c>B DONE</c> frame.</summary>
    public void Completions(ReadOnlySpan<byte> payload)
    {
        var records = payload.Length / DoneRecord.Length;
        for (var i = 0; i < records; i++)
        {
            var (sequence, receivers, outcome) = DoneRecord.Read(payload, i);
            Completed(sequence, (int)receivers, outcome);
        }
    }

    /// <summary>One <c>J DONE</c>; a dead-lettered one names the service that gave up and why (PROTOCOL.md §5.14).</summary>
    public void Completion(JObject done)
    {
        var sequence = done.Value<ulong>("seq");
        if (done.Value<string>("outcome") != "dead_lettered")
        {
            Completed(sequence, done.Value<int>("receivers"), CompletionOutcome.Completed);
            return;
        }

        var service = done.Value<string>("service");
        var reason = done.Value<string>("reason");
        var attempts = done.Value<int?>("attempts");
        publishes.TryFail(sequence, new ThynapseDeadLetteredException(service is null
            ? $"Event #{sequence} used up its attempts at a service and went to its dead-letter channel."
            : $"Event #{sequence} on '{done.Value<string>("channel")}' used up its {attempts} attempts at service '{service}' and went to $DLQ.{service}; the last attempt ended: {reason}.")
        {
            Service = service,
            Reason = reason,
            Attempts = attempts ?? 0,
        });
    }

    private void Completed(ulong sequence, int receivers, CompletionOutcome outcome)
    {
        if (outcome == CompletionOutcome.DeadLettered)
        {
            // A transmitter that speaks §5.14 sends dead-lettered outcomes as J DONE, with the details.
            publishes.TryFail(sequence, new ThynapseDeadLetteredException(
                $"Event #{sequence} used up its attempts at a service and went to its dead-letter channel."));
        }
        else
        {
            publishes.TryAnswer(sequence, new PublishAnswer(receivers > 0 ? PublishStatus.Completed : PublishStatus.NoReceiver, receivers));
        }
    }
}
