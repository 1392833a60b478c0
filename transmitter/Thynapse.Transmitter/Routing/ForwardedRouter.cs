using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Mesh;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Reliability;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Records another transmitter forwarded here (PROTOCOL.md §12.11), in their stream's order, never forwarded again (one
/// hop): multicatch events (kind 1) go to this transmitter's own cells by the route table's plan for their channel; a
/// delivery to one cell (kind 2: the ingress's anycatch choice, or a targeted receiver) goes to exactly that cell, never
/// re-picked, and is answered <c>Gone</c> when the cell or its subscription is not here; an answer about a delivery this
/// transmitter forwarded (kind 3) goes to the anycatch tracker, which owns it; a holder's load report about one of its
/// cells (kind 4) goes to that cell's subscription in the replica, for anycatch choices.
/// </summary>
/// <remarks>Routing thread only; the records are read in place.</remarks>
internal sealed class ForwardedRouter(RouteTable routes, CellOutput output, CellDirectory directory, AnycatchTracker tracker, AnycatchRelay relay,
    OutcomeSender answer, TransmitterCounters counters)
{
    private const int MaxOrigins = 65_536;

    /// <summary>One object per publisher, so that a batch to a cell leaves out repeats of its THID.</summary>
    private readonly Dictionary<Thid, byte[]> _origins = [];

    /// <summary>The replica, where kind-4 load reports find their remote cells (set by the mesh; null without one).</summary>
    public Mesh.CellReplica? Replica { get; set; }

    /// <summary>Delivers the records of one <c>FWRD</c> from <paramref name="sender"/>; false with <paramref name="error"/> when they are malformed (those before it were delivered).</summary>
    public bool Deliver(Thid sender, ReadOnlySpan<byte> records, out string? error)
    {
        var rest = records;
        // Records of one FWRD are mostly one publisher's on one channel (a burst of a B EVNT frame): the plan and the
        // origin's token are looked up once for a run of them, as EventRouter does for a frame's records.
        RoutePlan? plan = null;
        byte[]? token = null;
        var origin = default(Thid);
        while (ForwardRecords.TryRead(ref rest, out var record, out error))
        {
            if (record.Kind == ForwardKind.Outcome)
            {
                var reason = record.Reason.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(record.Reason);
                tracker.Relayed(sender, Thid.FromBytes(record.Cell), record.Tag, (RelayOutcome)record.Flags, reason);
                continue;
            }

            if (record.Kind == ForwardKind.Load)
            {
                // A report about a cell or subscription the replica does not hold (yet, or any more) has nothing to update.
                if (Replica?.Find(sender, Thid.FromBytes(record.Cell)) is { } remote
                    && remote.Profile.Subscriptions.TryGetValue(record.Subscription, out var reported))
                {
                    reported.LoadReported((int)Math.Min(record.Load, int.MaxValue), record.Tag);
                    tracker.RoomFreed(reported); // a lower load is room: queued work may go there now
                }

                continue;
            }

            TransmitterCounters.Increment(ref counters.MeshForwardsReceived);
            if (plan is null || !record.Channel.SequenceEqual(plan.Channel))
            {
                if ((plan = routes.Find(record.Channel, out var channelError)) is null)
                {
                    error = $"an event record on an invalid channel: {channelError}";
                    return false;
                }
            }

            if (token is null || !record.Origin.SequenceEqual(token))
            {
                origin = Thid.FromBytes(record.Origin);
                token = TokenOf(origin);
            }

            var e = new EventData(token, origin, record.Sequence, record.Channel, record.Body, DeadLetterOf(record.Extension), token, plan);
            if (record.Kind == ForwardKind.Deliver)
            {
                DeliverToOne(sender, record, e);
                continue;
            }

            var receivers = output.DeliverToEach(plan.Multicatch, e);

            TransmitterCounters.Add(ref counters.Deliveries, receivers);
        }

        return error is null;
    }

    /// <summary>The one array that stands for <paramref name="origin"/> in batches to cells.</summary>
    private byte[] TokenOf(Thid origin)
    {
        if (!_origins.TryGetValue(origin, out var token))
        {
            if (_origins.Count >= MaxOrigins)
            {
                _origins.Clear();
            }

            token = origin.ToByteArray();
            _origins[origin] = token;
        }

        return token;
    }

    /// <summary>A kind-2 record: to exactly the cell it names, under a tag of this transmitter's (relayed back when the ingress tracks it).</summary>
    private void DeliverToOne(Thid sender, in ForwardRecord record, in EventData e)
    {
        var flags = (DeliverFlags)record.Flags;
        var anycatch = (flags & DeliverFlags.Anycatch) != 0;
        var tracked = (flags & DeliverFlags.Tracked) != 0;
        var missing = !directory.TryGetById(Thid.FromBytes(record.Cell), out var cell) || cell.Closed ? "its cell is not here"
            : !anycatch ? null
            : !cell.Profile.Subscriptions.TryGetValue(record.Subscription, out var subscription) || !subscription.Active || subscription.Mode != Catch.Any
                ? $"its cell has no anycatch subscription {record.Subscription}"
            : tracked && subscription.Acks is null ? $"subscription {record.Subscription} of its cell no longer acknowledges"
            : null;
        if (missing is not null)
        {
            TransmitterCounters.Increment(ref counters.MeshDeliveriesMissed);
            if (anycatch)
            {
                answer(sender, record.Cell, record.Tag, RelayOutcome.Gone, missing);
            }

            return;
        }

        var fields = !anycatch ? AnycatchFields.Multicatch
            : tracked ? new AnycatchFields(record.Subscription, relay.Hold(sender, record.Tag, cell!.Profile.Subscriptions[record.Subscription]), record.Attempt)
            : new AnycatchFields(record.Subscription, tracker.NextTag(), record.Attempt);
        output.Deliver(cell!, e, fields);
        TransmitterCounters.Increment(ref counters.Deliveries);
    }

    /// <summary>A forwarded dead letter's details, from the extension its record carries (null for most events, and for one that does not read).</summary>
    private static DeadLetter? DeadLetterOf(ReadOnlySpan<byte> extension)
    {
        if (extension.IsEmpty)
        {
            return null;
        }

        try
        {
            return Newtonsoft.Json.Linq.JObject.Parse(System.Text.Encoding.UTF8.GetString(extension)) is { } json
                && DeadLetterDetails.TryReadExtension(json, out var details, out _) && details is not null ? new DeadLetter(details) : null;
        }
        catch (Newtonsoft.Json.JsonReaderException)
        {
            return null;
        }
    }
}
