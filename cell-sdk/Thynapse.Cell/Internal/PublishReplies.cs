using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The transmitter's answers to awaited publishes (<c>ACPT</c>, <c>DONE</c>: PROTOCOL.md §5.4, §5.14), handed to the
/// publishes waiting for them in the <see cref="PublishBuffer"/>. Socket thread.
/// </summary>
internal sealed class PublishReplies(PublishBuffer publishes)
{
    /// <summary>One <c>J ACPT</c>.</summary>
    public void Accept(AcceptMessage accept) =>
        publishes.TryAnswer(accept.Seq, new PublishAnswer(accept.Receivers > 0 ? PublishStatus.Accepted : PublishStatus.NoReceiver, (int)accept.Receivers));

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
    public void Completion(DoneMessage done)
    {
        if (done.DeadLetter is not { } details)
        {
            Completed(done.Seq, (int)done.Receivers, done.Outcome);
            return;
        }

        publishes.TryFail(done.Seq, new ThynapseDeadLetteredException(
            $"Event #{done.Seq} on '{details.Channel}' used up its {details.Attempts} attempts at service '{details.Service}' and went to {DeadLetterDetails.ChannelFor(details.Service)}; the last attempt ended: {details.Reason}.")
        {
            Service = details.Service,
            Reason = details.Reason,
            Attempts = details.Attempts,
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
