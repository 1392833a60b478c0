using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Mesh;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// Reliable anycatch (PROTOCOL.md §4.5): the deliveries in flight and their ack deadlines, per-service queues of those
/// waiting for a cell with room, acknowledgements, refusals and progress, redelivery, dead letters, and publishers
/// waiting for completion. Routing thread only; the router hands it every acknowledging delivery it makes.
/// </summary>
internal sealed class AnycatchTracker
{
    /// <summary>
    /// Queued deliveries a cell with room passes over (pinned elsewhere, not admitted) before it stops looking, so one
    /// unplaceable head does not block the rest and a long run of them does not stall the routing thread.
    /// </summary>
    private const int QueueScanLimit = 64;

    private readonly Dictionary<ulong, AnycatchDelivery> _inFlight = [];
    private readonly HashSet<Subscription> _holding = [];
    private readonly List<Subscription> _holdingSnapshot = [];
    private readonly List<Subscription> _eligible = [];
    private readonly Dictionary<string, DeliveryList> _queues = new(StringComparer.Ordinal);
    private readonly ReliabilityPool _pool = new();
    private readonly TransmitterOptions _options;
    private readonly MessageLimits _limits;
    private readonly TransmitterCounters _counters;
    private readonly StallAwareClock _clock;
    private readonly LogLimiter _warnings;
    private readonly ILogger _log;
    private readonly RouteTable _routes;
    private readonly ReceiverSink _sink;
    private readonly CellOutput _output;
    private readonly CellDirectory _directory;
    private readonly Responder _responder;
    private readonly AnycatchRelay _relay;
    private readonly DeadLetters _deadLetters;
    private ulong _nextTag;

    public AnycatchTracker(TransmitterOptions options, TransmitterCounters counters, StallAwareClock clock, LogLimiter warnings, ILogger log,
        RouteTable routes, ReceiverSink sink, CellOutput output, CellDirectory directory, Responder responder, AnycatchRelay relay)
    {
        _relay = relay;
        _deadLetters = new DeadLetters(counters, warnings, log, routes);
        Completions = new Completions(output, directory);
        _options = options;
        _limits = options.MessageLimits;
        _counters = counters;
        _clock = clock;
        _warnings = warnings;
        _log = log;
        _routes = routes;
        _sink = sink;
        _output = output;
        _directory = directory;
        _responder = responder;
    }

    /// <summary>Publishers waiting for their events' completion (<c>DONE</c>).</summary>
    public Completions Completions { get; }

    /// <summary>Routes dead letters (set by the router, which routes every event; the tracker sits below it).</summary>
    public DeadLetterRoute? RouteDeadLetter
    {
        get => _deadLetters.Route;
        set => _deadLetters.Route = value;
    }

    /// <summary>The subscriptions holding this transmitter's tracked deliveries now (local and remote cells).</summary>
    public IReadOnlyCollection<Subscription> Holding => _holding;

    /// <summary>A fresh delivery tag (unique per transmitter, never 0).</summary>
    public ulong NextTag() => ++_nextTag;

    /// <summary>Redelivers what was not acknowledged in time (called from the routing thread's timer).</summary>
    public void SweepAckDeadlines()
    {
        var now = _clock.Now;
        _holdingSnapshot.Clear();
        _holdingSnapshot.AddRange(_holding);
        foreach (var subscription in _holdingSnapshot)
        {
            // One subscription has one timeout, so its in-flight list is in deadline order.
            var expired = false;
            while (subscription.InFlightDeliveries.First is { } oldest && oldest.Deadline <= now)
            {
                expired = true;
                EndAttempt(oldest);
                subscription.TimedOut(); // a cell that lets deliveries time out is given fewer at a time
                TransmitterCounters.Increment(ref _counters.AckTimeouts);
                Retry(oldest, subscription, $"no ack within {subscription.Acks!.AckTimeout.TotalMilliseconds:0} ms");
            }

            if (expired)
            {
                RoomFreed(subscription);
            }
        }
    }

    /// <summary>The service whose queue is full and has no cell with room, if an event of <paramref name="plan"/> would have to be queued there.</summary>
    public string? FullServiceQueue(RoutePlan plan)
    {
        foreach (var group in plan.Anycatch)
        {
            if (HasRoom(group))
            {
                continue;
            }

            if (_queues.TryGetValue(group.Service, out var queue) && queue.Count >= _options.ServiceQueueLimit)
            {
                return group.Service;
            }
        }

        return null;
    }

    /// <summary>Keeps an event while acknowledging deliveries of it are in flight or queued (one per event, shared by its services).</summary>
    public PendingEvent Keep(in EventData e, DeadLetter? deadLetter, in EventTarget target, CompletionWaiter? waiter, bool resend)
    {
        var pending = _pool.RentEvent();
        pending.Init(
            e.OriginToken as byte[] ?? e.OriginId.ToArray(), // the cell's or the pending event's THID bytes
            e.Origin,
            e.Sequence,
            e.ChannelToken switch { RoutePlan p => p.Channel, byte[] b => b, _ => e.Channel.ToArray() },
            e.Body,
            deadLetter,
            target,
            waiter,
            resend);
        return pending;
    }

    /// <summary>
    /// An acknowledging delivery of <paramref name="pending"/> to <paramref name="service"/>: sent to <paramref name="chosen"/>
    /// when it has room, else queued (for a keyed event, waiting for its own cell).
    /// </summary>
    public void Track(PendingEvent pending, string service, Subscription? chosen, CompletionWaiter? waiter)
    {
        var delivery = _pool.RentDelivery(pending, service);
        if (waiter is not null)
        {
            waiter.Outstanding++;
        }

        if (chosen is null || !chosen.HasRoom)
        {
            delivery.Pinned = chosen?.Receiver; // a keyed event waits for its own cell
            Enqueue(delivery, atFront: false);
        }
        else
        {
            SendTracked(delivery, chosen);
        }
    }

    /// <summary>A subscription has room again (an attempt ended, or it just subscribed): give it queued work it can take.</summary>
    public void RoomFreed(Subscription subscription)
    {
        if (subscription.Acks is null || !subscription.Active
            || !_queues.TryGetValue(subscription.Receiver.Service, out var queue) || queue.Count == 0)
        {
            return;
        }

        var delivery = queue.First;
        var skipped = 0;
        while (delivery is not null && subscription.HasRoom && skipped < QueueScanLimit)
        {
            var next = delivery.Next;
            if (delivery.Pinned is { Closed: true })
            {
                delivery.Pinned = ChooseAgain(delivery)?.Receiver; // its cell is gone: the key moves to the next winner
            }

            if (subscription.Pattern.Matches(delivery.Event.Channel)
                && (delivery.Pinned is null || ReferenceEquals(delivery.Pinned, subscription.Receiver))
                && delivery.Event.Target.Admits(subscription.Receiver)
                && (!ReferenceEquals(delivery.LastCell, subscription.Receiver) || !AnotherCouldTake(delivery, subscription.Receiver)))
            {
                delivery.Pinned = null;
                queue.Remove(delivery);
                TransmitterCounters.Add(ref _counters.Queued, -1);
                SendTracked(delivery, subscription);
                if (!subscription.Active)
                {
                    return; // the send found the cell gone; its removal redelivered what it held
                }
            }
            else
            {
                skipped++;
            }

            delivery = next;
        }
    }

    /// <summary>A cell is gone: everything it held goes to other cells (PROTOCOL.md §4.5).</summary>
    public void RedeliverHeldBy(Receiver cell, string reason)
    {
        if (cell is LocalCell)
        {
            _relay.CellGone(cell, reason); // what other transmitters track here goes back to them
        }
        foreach (var subscription in cell.Profile.Subscriptions.Values)
        {
            while (subscription.InFlightDeliveries.First is { } delivery)
            {
                EndAttempt(delivery);
                Retry(delivery, subscription, reason);
            }
        }
    }

    /// <summary><c>B ACKN</c>: a run of 8-byte tags.</summary>
    public void HandleAcks(LocalCell cell, ReadOnlySpan<byte> tags)
    {
        if (tags.Length % TagRecord.Length != 0 || tags.IsEmpty)
        {
            _responder.Reject(cell.RoutingId, cell, Command.Ackn, ThynapseErrorCode.MalformedRecord, $"a B ACKN payload is a run of 8-byte tags; this one has {tags.Length} bytes");
            return;
        }

        var unknown = 0;
        var firstUnknown = 0UL;
        for (var i = 0; i < tags.Length / TagRecord.Length; i++)
        {
            var tag = TagRecord.Read(tags, i);
            if (!Acknowledge(cell, tag) && unknown++ == 0)
            {
                firstUnknown = tag;
            }
        }

        if (unknown > 0)
        {
            _responder.Reject(cell.RoutingId, cell, Command.Ackn, ThynapseErrorCode.UnknownDelivery, $"{unknown} tag(s) were never given to this cell (the first: {firstUnknown})");
        }
    }

    /// <summary><c>J ACKN</c>: <c>tag</c> and/or <c>tags</c>.</summary>
    public void HandleJsonAck(LocalCell cell, JObject request)
    {
        if (!AckMessage.TryRead(request, _limits, out var ack, out var code, out var error))
        {
            _responder.Reject(cell.RoutingId, cell, Command.Ackn, code, error, request);
            return;
        }

        var unknown = ack.All.Where(t => !Acknowledge(cell, t)).ToList();
        if (unknown.Count > 0)
        {
            _responder.Reject(cell.RoutingId, cell, Command.Ackn, ThynapseErrorCode.UnknownDelivery, $"tag(s) {string.Join(", ", unknown)} were never given to this cell", request);
        }
    }

    /// <summary><c>NACK</c>: this delivery failed; redeliver it.</summary>
    public void HandleNack(LocalCell cell, JObject request)
    {
        if (!NackMessage.TryRead(request, _limits, out var nack, out var code, out var error))
        {
            _responder.Reject(cell.RoutingId, cell, Command.Nack, code, error, request);
            return;
        }

        var tag = nack.Tag;
        var reason = nack.ReasonOrDefault;
        if (AnycatchRelay.Owns(tag))
        {
            if (_relay.Answer(cell, tag, RelayOutcome.Nack, reason, out var relayed))
            {
                RoomFreed(relayed);
            }
            else if (!Late(_relay.Issued(tag)))
            {
                _responder.Reject(cell.RoutingId, cell, Command.Nack, ThynapseErrorCode.UnknownDelivery, $"tag {tag} was never given to this cell", request);
            }

            return;
        }

        if (!TryTakeInFlight(cell, tag, out var delivery, out var known))
        {
            if (!known)
            {
                _responder.Reject(cell.RoutingId, cell, Command.Nack, ThynapseErrorCode.UnknownDelivery, $"tag {tag} was never given to this cell", request);
            }

            return;
        }

        Nacked(delivery, reason);
    }

    /// <summary>
    /// A holder's answer about a delivery this ingress forwarded to one of its cells (PROTOCOL.md §12.11): taken as the
    /// cell's own <c>ACKN</c>, <c>NACK</c> or <c>PROG</c> would be; <c>Gone</c> (the cell was not there, or left holding
    /// it) redelivers. An answer about a delivery no longer in flight is late; a <c>Gone</c> of tag 0 is an
    /// unacknowledged event that no cell got (counted lost).
    /// </summary>
    public void Relayed(Thid holder, Thid cell, ulong tag, RelayOutcome outcome, string? reason)
    {
        if (!_inFlight.TryGetValue(tag, out var delivery) || delivery.Holder!.Receiver is not RemoteCell remote || remote.Transmitter != holder || remote.Id != cell)
        {
            if (outcome == RelayOutcome.Gone && tag == 0)
            {
                TransmitterCounters.Increment(ref _counters.MeshAnycatchLost);
                if (_warnings.Allow(WarningKind.Redelivery))
                {
                    _log.Warning("An unacknowledged anycatch event forwarded to cell {Cell} was lost: {Reason} at transmitter {Holder}", cell, reason, holder);
                }
            }
            else if (outcome is not RelayOutcome.Progress)
            {
                Late(known: true);
            }

            return;
        }

        switch (outcome)
        {
            case RelayOutcome.Ack:
                Acknowledged(delivery);
                break;
            case RelayOutcome.Nack:
                Nacked(delivery, reason ?? "");
                break;
            case RelayOutcome.Progress:
                Extend(delivery);
                break;
            default:
                var held = EndAttempt(delivery);
                Retry(delivery, held, $"{reason} at transmitter {holder}");
                RoomFreed(held);
                break;
        }
    }

    /// <summary>
    /// <c>PROG</c>: the cell is still working on these deliveries; each one's ack deadline starts again (PROTOCOL.md
    /// §5.13a). A tag no longer in flight is ignored; one never handed out, or in flight at another cell, is refused.
    /// </summary>
    public void HandleProgress(LocalCell cell, JObject request)
    {
        if (!ProgressMessage.TryRead(request, _limits, out var progress, out var code, out var error))
        {
            _responder.Reject(cell.RoutingId, cell, Command.Prog, code, error, request);
            return;
        }

        List<ulong>? unknown = null;
        foreach (var tag in progress.All)
        {
            if (AnycatchRelay.Owns(tag))
            {
                if (!_relay.Answer(cell, tag, RelayOutcome.Progress, null) && !_relay.Issued(tag))
                {
                    (unknown ??= []).Add(tag);
                }

                continue;
            }

            if (!_inFlight.TryGetValue(tag, out var delivery) || !ReferenceEquals(delivery.Holder!.Receiver, cell))
            {
                if (!(tag > 0 && tag <= _nextTag && delivery is null))
                {
                    (unknown ??= []).Add(tag);
                }

                continue;
            }

            Extend(delivery);
        }

        if (unknown is not null)
        {
            _responder.Reject(cell.RoutingId, cell, Command.Prog, ThynapseErrorCode.UnknownDelivery, $"tag(s) {string.Join(", ", unknown)} were never given to this cell", request);
        }
    }

    private static bool HasRoom(AnycatchGroup group)
    {
        foreach (var candidate in group.Candidates)
        {
            if (candidate.HasRoom && candidate.Active)
            {
                return true;
            }
        }

        return false;
    }

    private void SendTracked(AnycatchDelivery delivery, Subscription holder)
    {
        delivery.Tag = ++_nextTag;
        delivery.Holder = holder;
        delivery.Attempts++;
        delivery.LastCell = holder.Receiver;
        delivery.Deadline = _clock.Now + holder.Acks!.AckTimeoutTicks;
        if (holder.Receiver is RemoteCell)
        {
            holder.SentToHolder(delivery.Tag);
        }

        holder.Hold(delivery);
        _holding.Add(holder);
        _inFlight.Add(delivery.Tag, delivery);
        TransmitterCounters.Increment(ref _counters.InFlight);
        var e = delivery.Event;
        _sink.Deliver(holder.Receiver, new EventData(e.OriginId, e.Origin, e.Sequence, e.Channel, e.Body, e.DeadLetter, e.OriginId, e.Channel),
            new AnycatchFields(holder.Id, delivery.Tag, (ushort)Math.Min(delivery.Attempts, ushort.MaxValue)), tracked: true);
    }

    /// <summary>Ends the current attempt of an in-flight delivery and returns the subscription that held it.</summary>
    private Subscription EndAttempt(AnycatchDelivery delivery)
    {
        var holder = delivery.Holder!;
        _inFlight.Remove(delivery.Tag);
        holder.Release(delivery);
        if (holder.InFlightDeliveries.Count == 0)
        {
            _holding.Remove(holder);
        }

        delivery.Holder = null;
        TransmitterCounters.Add(ref _counters.InFlight, -1);
        return holder;
    }

    /// <summary>After a failed attempt: redeliver to another eligible cell, queue it, or dead-letter it.</summary>
    private void Retry(AnycatchDelivery delivery, Subscription failed, string reason)
    {
        delivery.LastFailure = reason;
        if (delivery.Attempts >= failed.Acks!.MaxAttempts)
        {
            DeadLetterDelivery(delivery);
            return;
        }

        TransmitterCounters.Increment(ref _counters.Redeliveries);
        if (_warnings.Allow(WarningKind.Redelivery))
        {
            _log.Warning("Redelivering #{Sequence} of {Origin} on {Channel} to service {Service} (attempt {Attempt} failed: {Reason})",
                delivery.Event.Sequence, delivery.Event.Origin, Encoding.ASCII.GetString(delivery.Event.Channel), delivery.Service, delivery.Attempts, reason);
        }

        var next = ChooseAgain(delivery);
        if (next is null || !next.HasRoom)
        {
            delivery.Pinned = next?.Receiver;
            Enqueue(delivery, atFront: true);
        }
        else if (next.Acks is null)
        {
            // The only cell with room does not acknowledge: hand it over at most once, and that ends our tracking.
            var e = delivery.Event;
            _sink.Deliver(next.Receiver, new EventData(e.OriginId, e.Origin, e.Sequence, e.Channel, e.Body, e.DeadLetter, e.OriginId, e.Channel),
                new AnycatchFields(next.Id, ++_nextTag, (ushort)Math.Min(delivery.Attempts + 1, ushort.MaxValue)));
            Finish(delivery, deadLettered: false);
        }
        else
        {
            SendTracked(delivery, next);
        }
    }

    /// <summary>
    /// Where the next attempt goes: among the cells the event's target admits (for a resend, those that acknowledge),
    /// avoiding the one that failed.
    /// </summary>
    private Subscription? ChooseAgain(AnycatchDelivery delivery)
    {
        var group = FindGroup(delivery);
        if (group is null)
        {
            return null;
        }

        var target = delivery.Event.Target;
        if (target.IsOpen && !delivery.Event.Resend)
        {
            return group.Choose(avoid: delivery.LastCell);
        }

        var eligible = group.Eligible(target, _eligible);
        if (delivery.Event.Resend)
        {
            eligible.RemoveAll(static s => s.Acks is null);
        }

        return Chooser.For(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(eligible), target, delivery.LastCell);
    }

    /// <summary>
    /// True when a subscription of the delivery's service other than <paramref name="last"/>'s could take it from the
    /// queue: active, acknowledging (only those take queued work), admitted by its target. Only then is the cell whose
    /// attempt failed passed over; otherwise it gets the delivery again rather than leaving it queued for nobody.
    /// </summary>
    private bool AnotherCouldTake(AnycatchDelivery delivery, Receiver last)
    {
        if (FindGroup(delivery) is not { } group)
        {
            return false;
        }

        foreach (var candidate in group.Candidates)
        {
            if (!ReferenceEquals(candidate.Receiver, last) && candidate.Active && candidate.Acks is not null
                && delivery.Event.Target.Admits(candidate.Receiver))
            {
                return true;
            }
        }

        return false;
    }

    private AnycatchGroup? FindGroup(AnycatchDelivery delivery)
    {
        var plan = _routes.Find(delivery.Event.Channel, out _);
        if (plan is null)
        {
            return null;
        }

        foreach (var group in plan.Anycatch)
        {
            if (string.Equals(group.Service, delivery.Service, StringComparison.Ordinal))
            {
                return group;
            }
        }

        return null;
    }

    private void Enqueue(AnycatchDelivery delivery, bool atFront)
    {
        if (!_queues.TryGetValue(delivery.Service, out var queue))
        {
            _queues.Add(delivery.Service, queue = new DeliveryList());
        }

        if (atFront)
        {
            queue.AddFirst(delivery);
        }
        else
        {
            queue.AddLast(delivery);
        }

        TransmitterCounters.Increment(ref _counters.Queued);
    }

    /// <summary>The delivery's attempts are used up: its service's dead-letter channel gets the event, and the delivery is over.</summary>
    private void DeadLetterDelivery(AnycatchDelivery delivery)
    {
        _deadLetters.Send(delivery);
        Finish(delivery, deadLettered: true);
    }

    /// <summary>A delivery is over (acknowledged, dead-lettered or handed to a non-acknowledging cell).</summary>
    private void Finish(AnycatchDelivery delivery, bool deadLettered)
    {
        var e = delivery.Event;
        if (e.Completion is { } waiter)
        {
            if (deadLettered)
            {
                waiter.Outcome = CompletionOutcome.DeadLettered;
            }

            if (--waiter.Outstanding == 0)
            {
                Completions.Complete(waiter);
            }
        }

        _pool.Return(delivery);
    }

    /// <summary>Acknowledges one tag; false when the tag was never given to this cell (a late ack is not an error).</summary>
    private bool Acknowledge(LocalCell cell, ulong tag)
    {
        if (AnycatchRelay.Owns(tag))
        {
            if (_relay.Answer(cell, tag, RelayOutcome.Ack, null, out var relayed))
            {
                RoomFreed(relayed); // what it held for another ingress counted in its room here too
                return true;
            }

            return Late(_relay.Issued(tag));
        }

        if (!TryTakeInFlight(cell, tag, out var delivery, out var known))
        {
            return known;
        }

        Acknowledged(delivery);
        return true;
    }

    private void Acknowledged(AnycatchDelivery delivery)
    {
        TransmitterCounters.Increment(ref _counters.Acks);
        var holder = EndAttempt(delivery);
        holder.Acknowledged();
        Finish(delivery, deadLettered: false);
        RoomFreed(holder);
    }

    private void Nacked(AnycatchDelivery delivery, string reason)
    {
        TransmitterCounters.Increment(ref _counters.Nacks);
        var holder = EndAttempt(delivery);
        Retry(delivery, holder, $"nacked: {reason}");
        RoomFreed(holder);
    }

    /// <summary>The cell is still working on it: its ack deadline starts again (the in-flight list stays in deadline order: the new one is the latest).</summary>
    private void Extend(AnycatchDelivery delivery)
    {
        var holder = delivery.Holder!;
        delivery.Deadline = _clock.Now + holder.Acks!.AckTimeoutTicks;
        holder.InFlightDeliveries.AddLast(delivery);
        TransmitterCounters.Increment(ref _counters.Extensions);
    }

    /// <summary>Counts an answer about a delivery no longer in flight (when <paramref name="known"/>); returns it.</summary>
    private bool Late(bool known)
    {
        if (known)
        {
            TransmitterCounters.Increment(ref _counters.LateAcks);
        }

        return known;
    }

    /// <summary>
    /// Finds an in-flight delivery by tag held by <paramref name="cell"/>. <paramref name="known"/> is true for a tag
    /// this transmitter gave out that is no longer in flight (acknowledged, timed out, redelivered): a late answer,
    /// counted but not refused.
    /// </summary>
    private bool TryTakeInFlight(LocalCell cell, ulong tag, [NotNullWhen(true)] out AnycatchDelivery? delivery, out bool known)
    {
        if (_inFlight.TryGetValue(tag, out delivery))
        {
            known = ReferenceEquals(delivery.Holder!.Receiver, cell);
            if (!known)
            {
                delivery = null;
            }

            return known;
        }

        known = Late(tag > 0 && tag <= _nextTag);
        return false;
    }
}
