using System.Text;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Reliability;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Commands;

internal sealed partial class CommandProcessor
{
    /// <summary>The longest key of a keyed event, in bytes.</summary>
    public const int MaxKeyBytes = 1024;

    private readonly List<Subscription> _eligible = [];
    private long _metadataEpoch;
    private ulong _nextTag;

    private void HandleJsonEvent(CellSession origin, JObject request, FieldReader fields, ReadOnlySpan<byte> body)
    {
        var channel = fields.GetString("channel", required: true);
        var sequence = fields.GetUInt64("seq");
        var confirm = fields.GetBoolean("confirm") ?? false;
        var complete = fields.GetBoolean("complete") ?? false;
        var resend = fields.GetBoolean("resend") ?? false;
        var key = fields.GetString("key");
        if (key is not null && Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            fields.Invalid($"field 'key' has more than {MaxKeyBytes} bytes of UTF-8");
        }

        // Numbering continues after the highest seq the cell chose itself, so the two can never give one event's
        // (origin, seq) — and therefore its THID — to another (PROTOCOL.md §5.3).
        var seq = sequence ?? ++origin.AutoSequence;
        origin.AutoSequence = Math.Max(origin.AutoSequence, seq);
        if (fields.Error is { } error)
        {
            // The refusal names the event's seq: the cell's own, or the one the transmitter gave it (none if 'seq' itself is bad).
            RejectEvent(origin, ThynapseErrorCode.InvalidField, error, sequence ?? (fields.Has("seq") ? null : seq));
            return;
        }

        // Validate the text first so that a non-ASCII character is reported as such; the router works on bytes.
        if (!Channel.TryValidate(channel, out var channelError))
        {
            RejectEvent(origin, ThynapseErrorCode.InvalidChannel, $"invalid channel: {channelError}", seq);
            return;
        }

        if (!TargetCache.TryRead(request, _options.QueryLimits, out var target, out var targetCode, out var targetError))
        {
            RejectEvent(origin, targetCode, targetError!, seq);
            return;
        }

        Span<byte> channelBytes = stackalloc byte[channel!.Length];
        Encoding.ASCII.GetBytes(channel, channelBytes);
        var flags = (confirm ? EventRecordFlags.Confirm : 0) | (complete ? EventRecordFlags.Completion : 0) | (resend ? EventRecordFlags.Resend : 0);
        RouteEvent(origin, seq, channelBytes, target.WithKey(key is null ? default : Encoding.UTF8.GetBytes(key)), body, flags);
    }

    private void HandleBinaryEvents(CellSession origin, ReadOnlySpan<byte> payload)
    {
        var reader = new EventRecordReader(payload);
        if (reader.End)
        {
            RejectEvent(origin, ThynapseErrorCode.MalformedRecord, "a B EVNT frame carries at least one record", null);
            return;
        }

        // Records of one frame usually share a channel: look its plan up once.
        ReadOnlySpan<byte> previousChannel = default;
        RoutePlan? previousPlan = null;
        while (reader.TryRead(out var record, out var error) || error is not null)
        {
            if (error is not null)
            {
                // The record framing is lost: nothing after this point can be read.
                RejectEvent(origin, ThynapseErrorCode.MalformedRecord, error, null);
                return;
            }

            if (record.Key.Length > MaxKeyBytes)
            {
                RejectEvent(origin, ThynapseErrorCode.InvalidField, $"the key has {record.Key.Length} bytes; the limit is {MaxKeyBytes}", record.Sequence);
                continue;
            }

            var target = default(EventTarget);
            if (!record.Extension.IsEmpty && !_targets.TryGet(record.Extension, out target, out var targetCode, out var targetError))
            {
                RejectEvent(origin, targetCode, targetError!, record.Sequence);
                continue;
            }

            origin.AutoSequence = Math.Max(origin.AutoSequence, record.Sequence);
            var known = previousPlan is not null && record.Channel.SequenceEqual(previousChannel) ? previousPlan : null;
            previousPlan = RouteEvent(origin, record.Sequence, record.Channel, target.WithKey(record.Key), record.Body, record.Flags, known);
            previousChannel = record.Channel;
        }
    }

    /// <summary>
    /// Checks an event from a cell and routes it (PROTOCOL.md §4), answering ACPT/ERRR/DONE as asked. Returns the
    /// channel's plan (null when the event was refused); <paramref name="knownPlan"/> skips the lookup when the caller
    /// already has it.
    /// </summary>
    private RoutePlan? RouteEvent(
        CellSession origin,
        ulong sequence,
        ReadOnlySpan<byte> channel,
        in EventTarget target,
        ReadOnlySpan<byte> body,
        EventRecordFlags flags,
        RoutePlan? knownPlan = null)
    {
        var plan = knownPlan;
        if (plan is null)
        {
            if (Channel.IsReserved(channel))
            {
                RejectEvent(origin, ThynapseErrorCode.ReservedChannel, "channels starting with '$' belong to the transmitters", sequence);
                return null;
            }

            plan = _routes.Find(channel, out var error);
            if (plan is null)
            {
                RejectEvent(origin, ThynapseErrorCode.InvalidChannel, $"invalid channel: {error}", sequence);
                return null;
            }
        }

        var wantsCompletion = (flags & EventRecordFlags.Completion) != 0;
        if (wantsCompletion && TryAnswerKnownCompletion(origin, sequence))
        {
            return plan; // a resend of an event we already track or finished: never route it twice
        }

        if (FullServiceQueue(plan) is { } full)
        {
            RejectEvent(origin, ThynapseErrorCode.QueueFull,
                $"service '{full}' has no cell with room and its queue holds {_options.ServiceQueueLimit} events", sequence);
            return plan;
        }

        var waiter = wantsCompletion ? new CompletionWaiter(origin.Id, sequence) : null;
        _routingFor = origin;
        var receivers = Route(new EventData(origin.IdBytes, origin.Id, sequence, channel, body, default, origin.IdBytes, plan), plan, target, waiter,
            deadLetter: null, resend: (flags & EventRecordFlags.Resend) != 0);
        _routingFor = null;
        TransmitterCounters.Increment(ref _counters.EventsReceived);
        if (receivers == 0)
        {
            TransmitterCounters.Increment(ref _counters.EventsWithoutReceiver);
        }

        if ((flags & EventRecordFlags.Confirm) != 0)
        {
            Accept(origin, sequence, receivers);
        }

        if (waiter is not null)
        {
            waiter.Receivers = receivers;
            TrackCompletion(waiter);
        }

        return plan;
    }

    /// <summary>
    /// Hands an event to every multicatch cell of <paramref name="plan"/> and to one cell per anycatch service, among
    /// those <paramref name="target"/> admits: at once when the chosen subscription does not acknowledge, tracked
    /// (and queued when no cell has room) when it does. A <paramref name="resend"/> goes to acknowledging anycatch
    /// subscriptions only (§4.5). Returns the number of receivers.
    /// </summary>
    private uint Route(in EventData e, RoutePlan plan, in EventTarget target, CompletionWaiter? waiter, DeadLetter? deadLetter, bool resend = false)
    {
        uint receivers = 0;
        var narrowed = target.Query is null && target.Service is null ? null : plan.Narrow(target, _metadataEpoch);
        foreach (var cell in resend ? [] : narrowed?.Multicatch ?? plan.Multicatch)
        {
            if (cell.Closed)
            {
                MissedWhileAway(cell); // a departed cell's subscriptions count what it misses until it comes back
                continue;
            }

            Deliver(cell, e, AnycatchFields.Multicatch);
            receivers++;
        }

        PendingEvent? pending = null;
        for (var g = 0; g < plan.Anycatch.Length; g++)
        {
            var group = plan.Anycatch[g];
            IReadOnlyList<Subscription> candidates = narrowed?.Anycatch[g] ?? group.Candidates;
            if (resend)
            {
                candidates = Acknowledging(candidates);
            }

            if (candidates.Count == 0)
            {
                continue;
            }

            receivers++;
            var chosen = target.IsOpen && !resend ? group.Choose(_burst) : ChooseFor(candidates, target, avoid: null);
            if (chosen is { Acks: null })
            {
                Deliver(chosen.Session, e, new AnycatchFields(chosen.Id, ++_nextTag, 1));
                continue;
            }

            if (pending is null)
            {
                pending = _pool.RentEvent();
                pending.Init(
                    e.OriginToken as byte[] ?? e.OriginId.ToArray(), // the session's or the pending event's THID bytes
                    e.Origin,
                    e.Sequence,
                    e.ChannelToken switch { RoutePlan p => p.Channel, byte[] b => b, _ => e.Channel.ToArray() },
                    e.Body,
                    deadLetter,
                    target,
                    waiter);
            }

            var delivery = _pool.RentDelivery(pending, group.Service);
            if (waiter is not null)
            {
                waiter.Outstanding++;
            }

            if (chosen is null || !chosen.HasRoom)
            {
                delivery.Pinned = chosen?.Session; // a keyed event waits for its own cell
                Enqueue(delivery, atFront: false);
            }
            else
            {
                SendTracked(delivery, chosen);
            }
        }

        TransmitterCounters.Add(ref _counters.Deliveries, receivers);
        return receivers;
    }

    /// <summary>The acknowledging ones among <paramref name="candidates"/> (a scratch list: read it before delivering anything).</summary>
    private List<Subscription> Acknowledging(IReadOnlyList<Subscription> candidates)
    {
        _eligible.Clear();
        foreach (var candidate in candidates)
        {
            if (candidate.Acks is not null)
            {
                _eligible.Add(candidate);
            }
        }

        return _eligible;
    }

    private void MissedWhileAway(CellSession departed)
    {
        TransmitterCounters.Increment(ref _counters.MissedWhileAway);
        departed.UnreportedMissed++;
        departed.TotalMissed++;
    }

    /// <summary>The group's candidates the target admits (a scratch list: read it before delivering anything).</summary>
    private List<Subscription> Eligible(AnycatchGroup group, in EventTarget target)
    {
        _eligible.Clear();
        if (target.Service is null || string.Equals(group.Service, target.Service, StringComparison.Ordinal))
        {
            foreach (var candidate in group.Candidates)
            {
                if (target.Query is null || target.Query.Matches(candidate.Session.Metadata))
                {
                    _eligible.Add(candidate);
                }
            }
        }

        return _eligible;
    }

    /// <summary>By key (sticky), by the query's selector, or the least busy (PROTOCOL.md §4.6).</summary>
    private static Subscription? ChooseFor(IReadOnlyList<Subscription> eligible, in EventTarget target, CellSession? avoid) =>
        target.HasKey ? Chooser.ByKey(eligible, target.KeyHash, avoid)
        : target.Query?.Selector is { } selector ? Chooser.BySelector(eligible, selector, avoid)
        : Chooser.LeastBusy(eligible, avoid);

    private void Deliver(CellSession cell, in EventData e, in AnycatchFields anycatch)
    {
        if (cell.Closed)
        {
            Dropped(cell, 1);
            return;
        }

        PauseCreditFor(cell);
        if (cell.AcceptsBinary)
        {
            // A frame stays within BatchBytes (one record larger than that goes alone): the cell keeps each received
            // frame's buffer for the events' bodies, and a frame just over a power of two would cost it twice the memory.
            var size = DeliveryRecordWriter.SizeOf(e.Channel.Length, anycatch.Tag != 0, e.Extension.Length, e.Body.Length);
            if (!cell.Deliveries.IsEmpty && cell.Deliveries.Length + size > _options.BatchBytes)
            {
                Flush(cell);
            }

            DeliveryRecordWriter.Write(cell.Deliveries, e.OriginToken, e.OriginId, e.Sequence, e.ChannelToken, e.Channel, anycatch, e.Extension, e.Body);
            cell.Deliveries.RecordWritten();
            MarkDirty(cell);
            return;
        }

        var extension = !e.Extension.IsEmpty && JsonPayload.TryParse(e.Extension, out var parsed, out _) ? parsed : null;

        // A dead letter keeps its event's THID, which hashes the channel it was published on, not $DLQ.<service>
        // (PROTOCOL.md §4.3, §5.5): the same id a B reader computes from origin, seq, deadLetter.channel and body.
        ReadOnlySpan<byte> idChannel = extension?["deadLetter"]?["channel"] is JValue { Type: JTokenType.String } original
            ? Encoding.ASCII.GetBytes((string)original!)
            : e.Channel;
        var header = new JObject
        {
            ["channel"] = Encoding.ASCII.GetString(e.Channel),
            ["id"] = Thid.ForEvent(e.Origin, e.Sequence, idChannel, e.Body).ToString(),
            ["origin"] = e.Origin.ToString(),
            ["seq"] = e.Sequence,
            ["mode"] = anycatch.Tag == 0 ? "multi" : "any",
        };
        if (anycatch.Tag != 0)
        {
            header["sub"] = anycatch.Subscription;
            header["tag"] = anycatch.Tag;
            header["attempt"] = anycatch.Attempt;
        }

        if (extension is not null)
        {
            header.Merge(extension);
        }

        SendDelivery(cell, JsonPayload.Frame(Command.Dlvr, header), e.Body);
    }

    private void SendDelivery(CellSession cell, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
    {
        ReportMissed(cell);
        var outcome = SendToCell(cell, header, body, twoFrames: true, HeldKind.Deliveries, 1);
        if (outcome != SendOutcome.Sent)
        {
            Dropped(cell, 1, outcome);
        }
    }

    private void Accept(CellSession origin, ulong sequence, uint receivers)
    {
        if (origin.Closed)
        {
            return;
        }

        if (origin.AcceptsBinary)
        {
            AcceptRecord.Write(origin.Accepts, sequence, receivers);
            origin.Accepts.RecordWritten();
            MarkDirty(origin);
            return;
        }

        Send(origin, JsonPayload.Frame(Command.Acpt, new JObject { ["seq"] = sequence, ["receivers"] = receivers }));
    }

    private void RejectEvent(CellSession origin, ThynapseErrorCode code, string message, ulong? sequence) =>
        Reject(origin.RoutingId, origin, Command.Evnt, code, message, sequence: sequence);
}
