using System.Runtime.InteropServices;
using System.Text;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Reliability;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Events from cells (<c>J EVNT</c>, <c>B EVNT</c>): checked, then routed to every multicatch receiver and one
/// anycatch receiver per service (PROTOCOL.md §4), answered with <c>ACPT</c>/<c>ERRR</c>/<c>DONE</c> as asked. The hot
/// path of the routing thread; acknowledging deliveries are handed to the <see cref="AnycatchTracker"/>.
/// </summary>
internal sealed class EventRouter
{
    private const int MaxKeyBytes = MessageLimits.MaxKeyBytes;

    private readonly MessageLimits _limits;
    private readonly List<Subscription> _eligible = [];
    private readonly TransmitterOptions _options;
    private readonly TransmitterCounters _counters;
    private readonly RouteTable _routes;
    private readonly TargetCache _targets;
    private readonly ReceiverSink _sink;
    private readonly CellOutput _output;
    private readonly CreditPacer _credit;
    private readonly AnycatchTracker _tracker;
    private readonly CellDirectory _directory;
    private readonly Responder _responder;

    public EventRouter(TransmitterOptions options, TransmitterCounters counters, RouteTable routes, ReceiverSink sink, CellOutput output,
        CreditPacer credit, AnycatchTracker tracker, CellDirectory directory, Responder responder)
    {
        _options = options;
        _limits = options.MessageLimits;
        _counters = counters;
        _routes = routes;
        _targets = new TargetCache(_limits);
        _sink = sink;
        _output = output;
        _credit = credit;
        _tracker = tracker;
        _directory = directory;
        _responder = responder;
        tracker.RouteDeadLetter = (in EventData e, RoutePlan plan, DeadLetter deadLetter) => Route(e, plan, default, waiter: null, deadLetter);
    }

    /// <summary>Counts bursts of inbound messages (each ends with a flush): anycatch runs last one at most (PROTOCOL.md §4.2).</summary>
    public long Burst { get; private set; }

    /// <summary>A burst of inbound messages ended.</summary>
    public void EndBurst() => Burst++;

    /// <summary><c>J EVNT</c> with its body frame, read by <see cref="EventMessage"/>.</summary>
    public void HandleJsonEvent(LocalCell origin, JObject request, ReadOnlySpan<byte> body)
    {
        var read = EventMessage.TryRead(request, _limits, out var message, out var code, out var error);

        // Numbering continues after the highest seq the cell chose itself, so the two can never give one event's
        // (origin, seq) — and therefore its THID — to another (PROTOCOL.md §5.3).
        // A bad 'seq' takes no number: the refusal cannot name one, so the cell could never learn which it was.
        var seq = message.Seq ?? (message.HasInvalidSeq ? 0 : ++origin.AutoSequence);
        if (!message.HasInvalidSeq)
        {
            origin.AutoSequence = Math.Max(origin.AutoSequence, seq);
        }

        if (!read)
        {
            // The refusal names the event's seq: the cell's own, or the one the transmitter gave it (none if 'seq' itself is bad).
            _responder.RejectEvent(origin, code, error!, message.HasInvalidSeq ? null : seq);
            return;
        }

        var channel = message.Channel;
        Span<byte> channelBytes = stackalloc byte[channel.Length];
        Encoding.ASCII.GetBytes(channel, channelBytes);
        var target = EventTarget.Of(message.Extension).WithKey(message.Key is { } key ? Encoding.UTF8.GetBytes(key) : default);
        RouteEvent(origin, seq, channelBytes, target, body, message.Flags);
    }

    /// <summary><c>B EVNT</c>: a run of event records.</summary>
    public void HandleBinaryEvents(LocalCell origin, ReadOnlySpan<byte> payload)
    {
        var reader = new EventRecordReader(payload);
        if (reader.End)
        {
            _responder.RejectEvent(origin, ThynapseErrorCode.MalformedRecord, "a B EVNT frame carries at least one record", null);
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
                _responder.RejectEvent(origin, ThynapseErrorCode.MalformedRecord, error, null);
                return;
            }

            if (record.Key.Length > MaxKeyBytes)
            {
                _responder.RejectEvent(origin, ThynapseErrorCode.InvalidField, $"the key has {record.Key.Length} bytes; the limit is {MaxKeyBytes}", record.Sequence);
                continue;
            }

            var target = default(EventTarget);
            if (!record.Extension.IsEmpty && !_targets.TryGet(record.Extension, out target, out var targetCode, out var targetError))
            {
                _responder.RejectEvent(origin, targetCode, targetError!, record.Sequence);
                continue;
            }

            origin.AutoSequence = Math.Max(origin.AutoSequence, record.Sequence);
            var known = previousPlan is not null && record.Channel.SequenceEqual(previousChannel) ? previousPlan : null;
            previousPlan = RouteEvent(origin, record.Sequence, record.Channel, target.WithKey(record.Key), record.Body, record.Flags, known);
            previousChannel = record.Channel;
        }
    }

    /// <summary>
    /// Refuses a <c>B EVNT</c> frame from a connection without a session, naming the range of sequence numbers it
    /// carried, so that a cell that lost its session can tell which events went nowhere (PROTOCOL.md §5.11).
    /// </summary>
    public void RejectUnwelcomedEvents(ReadOnlySpan<byte> routingId, ReadOnlySpan<byte> payload)
    {
        var reader = new EventRecordReader(payload);
        ulong first = 0, last = 0;
        var count = 0;
        while (reader.TryRead(out var record, out _))
        {
            first = count++ == 0 ? record.Sequence : Math.Min(first, record.Sequence);
            last = Math.Max(last, record.Sequence);
        }

        TransmitterCounters.Add(ref _counters.EventsRejected, count);
        _responder.Reject(routingId, null, Command.Evnt, ThynapseErrorCode.NotWelcomed, $"send HELO first; {count} event(s) in this frame were not routed",
            unrouted: count == 0 ? null : (first, last, count));
    }

    /// <summary>
    /// Checks an event from a cell and routes it (PROTOCOL.md §4), answering ACPT/ERRR/DONE as asked. Returns the
    /// channel's plan (null when the event was refused); <paramref name="knownPlan"/> skips the lookup when the caller
    /// already has it.
    /// </summary>
    private RoutePlan? RouteEvent(
        LocalCell origin,
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
                _responder.RejectEvent(origin, ThynapseErrorCode.ReservedChannel, "channels starting with '$' belong to the transmitters", sequence);
                return null;
            }

            plan = _routes.Find(channel, out var error);
            if (plan is null)
            {
                _responder.RejectEvent(origin, ThynapseErrorCode.InvalidChannel, $"invalid channel: {error}", sequence);
                return null;
            }
        }

        var wantsCompletion = (flags & EventRecordFlags.Completion) != 0;
        if (wantsCompletion && _tracker.Completions.TryAnswerKnown(origin, sequence))
        {
            return plan; // a resend of an event we already track or finished: never route it twice
        }

        if (_options.MaxPublishRate > 0 && !origin.Publishing.TryTake(origin.LastSeen, _options.MaxPublishRate, _options.TimeProvider.TimestampFrequency))
        {
            TransmitterCounters.Increment(ref _counters.EventsRateLimited);
            _responder.RejectEvent(origin, ThynapseErrorCode.RateLimited,
                $"this cell published more than {_options.MaxPublishRate} events a second (--max-publish-rate); the event was not routed", sequence);
            return plan;
        }

        if (_tracker.FullServiceQueue(plan) is { } full)
        {
            _responder.RejectEvent(origin, ThynapseErrorCode.QueueFull,
                $"service '{full}' has no cell with room and its queue holds {_options.ServiceQueueLimit} events", sequence);
            return plan;
        }

        var waiter = wantsCompletion ? new CompletionWaiter(origin.Id, sequence) : null;
        _credit.RoutingFor = origin;
        var receivers = Route(new EventData(origin.Profile.IdBytes, origin.Id, sequence, channel, body, null, origin.Profile.IdBytes, plan), plan, target, waiter,
            deadLetter: null, resend: (flags & EventRecordFlags.Resend) != 0);
        _credit.RoutingFor = null;
        TransmitterCounters.Increment(ref _counters.EventsReceived);
        if (receivers == 0)
        {
            TransmitterCounters.Increment(ref _counters.EventsWithoutReceiver);
        }

        if ((flags & EventRecordFlags.Confirm) != 0)
        {
            _output.Accept(origin, sequence, receivers);
        }

        if (waiter is not null)
        {
            waiter.Receivers = receivers;
            _tracker.Completions.Track(waiter);
        }

        return plan;
    }

    /// <summary>
    /// Hands an event to every multicatch receiver of <paramref name="plan"/> and to one receiver per anycatch service,
    /// among those <paramref name="target"/> admits: at once when the chosen subscription does not acknowledge, tracked
    /// (and queued when no cell has room) when it does. A <paramref name="resend"/> goes to acknowledging anycatch
    /// subscriptions only (§4.5). Returns the number of receivers.
    /// </summary>
    private uint Route(in EventData e, RoutePlan plan, in EventTarget target, CompletionWaiter? waiter, DeadLetter? deadLetter, bool resend = false)
    {
        uint receivers = 0;
        var narrowed = target.Query is null && target.Service is null ? null : plan.Narrow(target, _directory.MetadataEpoch);
        if (resend)
        {
            // a resend is for acknowledging anycatch only: multicatch catchers never get one (§4.5)
        }
        else if (narrowed is null)
        {
            if (plan.Multicatch.Length > 0)
            {
                receivers = _output.DeliverToEach(plan.Multicatch, e); // not inlined: an anycatch-only plan skips the call
            }

            if (plan.RemoteMulticatch.Length > 0)
            {
                receivers += _sink.ForwardMulticatch(plan.RemoteMulticatch, e); // one hop: the peers deliver to their own cells
            }
        }
        else
        {
            receivers = DeliverToEach(narrowed.Multicatch, e);
        }

        PendingEvent? pending = null;
        for (var g = 0; g < plan.Anycatch.Length; g++)
        {
            var group = plan.Anycatch[g];
            ReadOnlySpan<Subscription> candidates = narrowed?.Anycatch[g] ?? group.Candidates;
            if (resend)
            {
                candidates = CollectionsMarshal.AsSpan(Acknowledging(candidates));
            }

            if (candidates.Length == 0)
            {
                continue;
            }

            receivers++;
            var chosen = target.IsOpen && !resend ? group.Choose(Burst) : Chooser.For(candidates, target, avoid: null);
            if (chosen is { Acks: null })
            {
                _sink.Deliver(chosen.Receiver, e, new AnycatchFields(chosen.Id, _tracker.NextTag(), 1));
                continue;
            }

            pending ??= _tracker.Keep(e, deadLetter, target, waiter, resend);
            _tracker.Track(pending, group.Service, chosen, waiter);
        }

        TransmitterCounters.Add(ref _counters.Deliveries, receivers);
        return receivers;
    }

    /// <summary>
    /// A targeted plan's multicatch cells, local and remote alike (a remote one by a kind-2 record to its holder); a local
    /// one that is away counts the event missed.
    /// </summary>
    private uint DeliverToEach(Receiver[] cells, in EventData e)
    {
        uint delivered = 0;
        foreach (var receiver in cells)
        {
            if (receiver.Closed)
            {
                if (receiver is LocalCell departed)
                {
                    _output.MissedWhileAway(departed); // a departed cell's subscriptions count what it misses until it comes back
                }

                continue;
            }

            _sink.Deliver(receiver, e, AnycatchFields.Multicatch);
            delivered++;
        }

        return delivered;
    }

    /// <summary>The acknowledging ones among <paramref name="candidates"/> (a scratch list: read it before delivering anything).</summary>
    private List<Subscription> Acknowledging(ReadOnlySpan<Subscription> candidates)
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
}
