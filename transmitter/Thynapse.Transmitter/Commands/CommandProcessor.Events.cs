using System.Text;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Commands;

internal sealed partial class CommandProcessor
{
    /// <summary>The longest key of a keyed event, in bytes.</summary>
    public const int MaxKeyBytes = 1024;

    private ulong _nextTag;

    private void HandleJsonEvent(CellSession origin, FieldReader fields, ReadOnlySpan<byte> body)
    {
        var channel = fields.GetString("channel", required: true);
        var sequence = fields.GetUInt64("seq");
        var confirm = fields.GetBoolean("confirm") ?? false;
        var key = fields.GetString("key", maxLength: MaxKeyBytes);

        // Numbering continues after the highest seq the cell chose itself, so the two can never give one event's
        // (origin, seq) — and therefore its THID — to another (PROTOCOL.md §5.3).
        var seq = sequence ?? ++origin.AutoSequence;
        origin.AutoSequence = Math.Max(origin.AutoSequence, seq);
        if (fields.Error is { } error)
        {
            RejectEvent(origin, ThynapseErrorCode.InvalidField, error, sequence);
            return;
        }

        // Validate the text first so that a non-ASCII character is reported as such; the router works on bytes.
        if (!Channel.TryValidate(channel, out var channelError))
        {
            RejectEvent(origin, ThynapseErrorCode.InvalidChannel, $"invalid channel: {channelError}", sequence);
            return;
        }

        Span<byte> channelBytes = stackalloc byte[channel!.Length];
        Encoding.ASCII.GetBytes(channel, channelBytes);
        RouteEvent(origin, seq, channelBytes, key is null ? default : Encoding.UTF8.GetBytes(key), body, confirm);
    }

    private void HandleBinaryEvents(CellSession origin, ReadOnlySpan<byte> payload)
    {
        var reader = new EventRecordReader(payload);
        if (reader.End)
        {
            RejectEvent(origin, ThynapseErrorCode.MalformedRecord, "a B EVNT frame carries at least one record", null);
            return;
        }

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

            if (!record.Extension.IsEmpty && !JsonPayload.TryParse(record.Extension, out _, out var extensionError))
            {
                RejectEvent(origin, ThynapseErrorCode.InvalidJson, $"extension: {extensionError}", record.Sequence);
                continue;
            }

            origin.AutoSequence = Math.Max(origin.AutoSequence, record.Sequence);
            RouteEvent(origin, record.Sequence, record.Channel, record.Key, record.Body, record.Confirm);
        }
    }

    /// <summary>Routes one event to its receivers (PROTOCOL.md §4): every multicatch cell, one anycatch cell per service.</summary>
    private void RouteEvent(CellSession origin, ulong sequence, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> key, ReadOnlySpan<byte> body, bool confirm)
    {
        _ = key; // Sticky keys arrive with metadata routing; until then a key does not change the choice.
        if (Channel.IsReserved(channel))
        {
            RejectEvent(origin, ThynapseErrorCode.ReservedChannel, "channels starting with '$' belong to the transmitters", sequence);
            return;
        }

        var plan = _routes.Find(channel, out var error);
        if (plan is null)
        {
            RejectEvent(origin, ThynapseErrorCode.InvalidChannel, $"invalid channel: {error}", sequence);
            return;
        }

        TransmitterCounters.Increment(ref _counters.EventsReceived);
        uint receivers = 0;
        foreach (var cell in plan.Multicatch)
        {
            Deliver(cell, origin, sequence, channel, AnycatchFields.Multicatch, body);
            receivers++;
        }

        foreach (var group in plan.Anycatch)
        {
            var chosen = group.Choose();
            Deliver(chosen.Session, origin, sequence, channel, new AnycatchFields(chosen.Id, ++_nextTag, 1), body);
            receivers++;
        }

        if (receivers == 0)
        {
            TransmitterCounters.Increment(ref _counters.EventsWithoutReceiver);
        }
        else
        {
            TransmitterCounters.Add(ref _counters.Deliveries, receivers);
        }

        if (confirm)
        {
            Accept(origin, sequence, receivers);
        }
    }

    private void Deliver(CellSession cell, CellSession origin, ulong sequence, ReadOnlySpan<byte> channel, in AnycatchFields anycatch, ReadOnlySpan<byte> body)
    {
        if (cell.Closed)
        {
            Dropped(cell, 1);
            return;
        }

        if (cell.AcceptsBinary)
        {
            DeliveryRecordWriter.Write(cell.Deliveries, origin.IdBytes, sequence, channel, anycatch, default, body);
            cell.Deliveries.RecordWritten();
            MarkDirty(cell);
            if (cell.Deliveries.Length >= _options.BatchBytes)
            {
                Flush(cell);
            }

            return;
        }

        var header = new JObject
        {
            ["channel"] = Encoding.ASCII.GetString(channel),
            ["id"] = Thid.ForEvent(origin.Id, sequence, channel, body).ToString(),
            ["origin"] = origin.Id.ToString(),
            ["seq"] = sequence,
            ["mode"] = anycatch.Tag == 0 ? "multi" : "any",
        };
        if (anycatch.Tag != 0)
        {
            header["sub"] = anycatch.Subscription;
            header["tag"] = anycatch.Tag;
            header["attempt"] = anycatch.Attempt;
        }

        SendDelivery(cell, JsonPayload.Frame(Command.Dlvr, header), body);
    }

    private void SendDelivery(CellSession cell, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
    {
        ReportMissed(cell);
        var outcome = _sender.Send(cell.RoutingId, header, body);
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
