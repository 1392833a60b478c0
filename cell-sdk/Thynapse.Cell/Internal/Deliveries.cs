using Serilog;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Delivered events (<c>DLVR</c>, PROTOCOL.md §5.5, §6.2) into the buffers of the subscriptions they are for. Socket
/// thread: it never runs user code, only writes to each subscription's bounded buffer.
/// </summary>
internal sealed class Deliveries(Subscriptions subscriptions, Acknowledgements acknowledgements, ILogger log)
{
    private readonly List<CellSubscription> _frameWriters = [];

    /// <summary>
    /// Socket thread: one <c>B DLVR</c> frame, each record to its subscription(s); the events' bodies are slices of
    /// the frame's buffer, lent to handlers or kept for observers (<see cref="FrameLease"/>).
    /// Each subscription takes the frame's events as one run of writes (one lock and one wake-up per frame).
    /// </summary>
    public void Binary(ArraySegment<byte> frame, int payloadOffset)
    {
        try
        {
            ReadDeliveries(frame, payloadOffset);
        }
        finally
        {
            EndFrameWrites(0);
        }
    }

    /// <summary>Ends every run of writes from <paramref name="index"/> on, each even if one before it throws.</summary>
    private void EndFrameWrites(int index)
    {
        if (index >= _frameWriters.Count)
        {
            _frameWriters.Clear();
            return;
        }

        try
        {
            _frameWriters[index].EndWrites();
        }
        finally
        {
            EndFrameWrites(index + 1);
        }
    }

    /// <summary>Inside <see cref="Binary"/>: starts the subscription's run of writes on its first event.</summary>
    private CellSubscription Writing(CellSubscription subscription)
    {
        if (!subscription.Writing)
        {
            subscription.BeginWrites();
            _frameWriters.Add(subscription);
        }

        return subscription;
    }

    private void ReadDeliveries(ArraySegment<byte> frame, int payloadOffset)
    {
        var payload = frame.AsSpan(payloadOffset);
        var payloadStart = frame.Offset + payloadOffset;
        var reader = new DeliveryRecordReader(payload);
        var lease = new FrameLease(frame.Array!);
        try
        {
            ReadRecords(ref reader, frame.Array!, payloadStart, lease);
        }
        finally
        {
            lease.Release();
        }

        if (!reader.End)
        {
            log.Warning("The transmitter sent a malformed delivery frame; the rest of it was skipped");
        }
    }

    private void ReadRecords(ref DeliveryRecordReader reader, byte[] frame, int payloadStart, FrameLease lease)
    {
        ReadOnlySpan<byte> previousChannel = default;
        ChannelRoute? route = null;
        while (reader.TryRead(out var record, out _))
        {
            // Records of one frame usually share a channel: resolve it once.
            if (route is null || !record.Channel.SequenceEqual(previousChannel))
            {
                route = subscriptions.Routes.Resolve(record.Channel);
                previousChannel = record.Channel;
            }

            var body = new ReadOnlyMemory<byte>(frame, payloadStart + record.BodyOffset, record.Body.Length);
            var deadLetter = record.Extension.IsEmpty ? null : ReadDeadLetter(record.Extension);
            if (record.IsAnycatch)
            {
                DeliverAnycatch(route.Name, body, record.Origin, record.Sequence, record.Subscription, record.Tag, record.Attempt, deadLetter, lease);
                continue;
            }

            if (route.Multicatch.Length > 0)
            {
                lease.Keep();
            }

            var e = new Event(route.Name, body, record.Origin, record.Sequence, Catch.Multi, 0, deadLetter: deadLetter);
            foreach (var subscription in route.Multicatch)
            {
                Writing(subscription).Offer(e);
            }
        }
    }

    /// <summary>Socket thread: one <c>J DLVR</c>, read by <see cref="DeliveryMessage"/> (used when a transmitter does not send binary frames).</summary>
    public void Json(in DeliveryMessage delivery, ReadOnlySpan<byte> body)
    {
        var copy = CopyOf(body);
        var channel = delivery.Channel;
        Span<byte> channelBytes = stackalloc byte[Math.Min(channel.Length, Channel.MaxLength)];
        System.Text.Encoding.ASCII.GetBytes(channel.AsSpan(0, channelBytes.Length), channelBytes);
        var route = subscriptions.Routes.Resolve(channelBytes);
        var deadLetter = DeadLetterInfo.Of(delivery.DeadLetter);
        if (delivery.Mode == Catch.Any)
        {
            DeliverAnycatch(route.Name, copy, delivery.Origin, delivery.Seq, delivery.Sub!.Value, delivery.Tag!.Value, delivery.Attempt!.Value, deadLetter);
            return;
        }

        var e = new Event(route.Name, copy, delivery.Origin, delivery.Seq, Catch.Multi, 0, deadLetter: deadLetter);
        foreach (var subscription in route.Multicatch)
        {
            subscription.Offer(e);
        }
    }

    /// <summary>
    /// Socket thread: an anycatch delivery to its subscription. An acknowledging subscription's duplicate of an event
    /// this cell already handled is acknowledged again and goes no further; one it cannot buffer, or one for a
    /// subscription that has ended, is refused so that another cell gets it at once.
    /// </summary>
    /// <remarks>
    /// <paramref name="lease"/>: the delivery frame the body is a slice of (null: the body is the event's own). A
    /// handler's event holds it until the handler has finished; any other event keeps it.
    /// </remarks>
    private void DeliverAnycatch(string channel, ReadOnlyMemory<byte> body, Thid origin, ulong sequence, uint subscriptionId, ulong tag, int attempt, DeadLetterInfo? deadLetter, FrameLease? lease = null)
    {
        if (!subscriptions.Routes.TryGet(subscriptionId, out var subscription))
        {
            // It ended here before the transmitter heard: hand tracked work straight back.
            acknowledgements.LateDelivery(tag);
            return;
        }

        // A handler loop looks every event up before running the handler, so for its subscription only redeliveries
        // are looked up here (the socket thread then does not pay for it on every event); a first delivery can still
        // be a duplicate, when its publisher resent it to a restarted transmitter.
        if (subscription.Acknowledging && (attempt > 1 || !subscription.Handled) && acknowledgements.Handled(origin, sequence))
        {
            acknowledgements.AcknowledgeDuplicate(tag, acknowledgements.Session); // the socket thread: this session's tag
            return;
        }

        // A handler borrows the frame until it has finished; anyone else may keep the event, and so the frame.
        var lent = subscription.Handled ? lease?.Hold() : null;
        if (!subscription.Handled)
        {
            lease?.Keep();
        }

        var e = new Event(channel, body, origin, sequence, Catch.Any, attempt, subscription, tag, deadLetter, lent,
            receivedAt: subscription.Acknowledging ? Environment.TickCount64 : 0, session: acknowledgements.Session);
        if (!(lease is not null ? Writing(subscription) : subscription).Offer(e))
        {
            lent?.Release();
            if (subscription.Acknowledging)
            {
                acknowledgements.Refuse(tag, "the cell's buffer for this subscription is full", acknowledgements.Session);
            }
        }
    }

    /// <summary>A GC-owned copy (events may outlive the socket's pooled buffer), not zeroed first: it is overwritten at once.</summary>
    public static byte[] CopyOf(ReadOnlySpan<byte> bytes)
    {
        var copy = GC.AllocateUninitializedArray<byte>(bytes.Length);
        bytes.CopyTo(copy);
        return copy;
    }

    /// <summary>A <c>B DLVR</c> record's extension (§6.2): its dead letter, read by <see cref="DeadLetterDetails"/>; null for none or a malformed one.</summary>
    private static DeadLetterInfo? ReadDeadLetter(ReadOnlySpan<byte> extension) =>
        JsonPayload.TryParse(extension, out var json, out _) && DeadLetterDetails.TryReadExtension(json, out var details, out _) ? DeadLetterInfo.Of(details) : null;
}
