using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Mesh;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Reliability;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Events another transmitter forwarded here (PROTOCOL.md §12.11), in their stream's order: each is delivered to this
/// transmitter's own cells only — one hop, never forwarded again — by the route table's plan for its channel.
/// </summary>
/// <remarks>Routing thread only; the records are read in place.</remarks>
internal sealed class ForwardedRouter(RouteTable routes, CellOutput output, TransmitterCounters counters)
{
    private const int MaxOrigins = 65_536;

    /// <summary>One object per publisher, so that a batch to a cell leaves out repeats of its THID.</summary>
    private readonly Dictionary<Thid, byte[]> _origins = [];

    /// <summary>Delivers the records of one <c>FWRD</c>; false with <paramref name="error"/> when they are malformed (those before it were delivered).</summary>
    public bool Deliver(ReadOnlySpan<byte> records, out string? error)
    {
        var rest = records;
        while (ForwardRecords.TryRead(ref rest, out var record, out error))
        {
            TransmitterCounters.Increment(ref counters.MeshForwardsReceived);
            if (routes.Find(record.Channel, out var channelError) is not { } plan)
            {
                error = $"an event record on an invalid channel: {channelError}";
                return false;
            }

            var origin = Thid.FromBytes(record.Origin);
            if (!_origins.TryGetValue(origin, out var token))
            {
                if (_origins.Count >= MaxOrigins)
                {
                    _origins.Clear();
                }

                token = origin.ToByteArray();
                _origins[origin] = token;
            }

            var e = new EventData(token, origin, record.Sequence, record.Channel, record.Body, DeadLetterOf(record.Extension), token, plan);
            uint receivers = 0;
            foreach (var receiver in plan.Multicatch)
            {
                if (receiver is not LocalCell cell)
                {
                    continue;
                }

                if (cell.Closed)
                {
                    output.MissedWhileAway(cell);
                    continue;
                }

                output.Deliver(cell, e, AnycatchFields.Multicatch);
                receivers++;
            }

            TransmitterCounters.Add(ref counters.Deliveries, receivers);
        }

        return error is null;
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
