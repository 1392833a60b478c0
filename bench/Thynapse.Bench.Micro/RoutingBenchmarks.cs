using System.Text;
using BenchmarkDotNet.Attributes;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Mesh;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Bench.Micro;

/// <summary>
/// The transmitter's routing path, without sockets: one <c>B EVNT</c> frame of 64 events handled by the command
/// processor, routed, batched per receiver and flushed to a sender that drops the frames. Reported per event.
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    public const int Records = 64;
    private CommandProcessor _processor = null!;
    private byte[] _publisher = [];
    private byte[] _frame = [];
    private PeerFeed? _feed;
    private Thid _sender;
    private readonly Thid _self = Thid.NewRandom();

    public enum Shape
    {
        /// <summary>One multicatch receiver.</summary>
        Multicatch1,

        /// <summary>Four multicatch receivers.</summary>
        Multicatch4,

        /// <summary>Four anycatch cells of one service.</summary>
        Anycatch4,

        /// <summary>Four acknowledging anycatch cells (acks sent back per frame).</summary>
        AnycatchAcked4,

        /// <summary>One cell holding 10 subscriptions.</summary>
        Subscriptions10,

        /// <summary>One cell holding 10,000 subscriptions.</summary>
        Subscriptions10k,

        /// <summary>1,000 anycatch cells and a 3-clause target query.</summary>
        Targeted1000,

        /// <summary>The ingress of a mesh: one multicatch receiver at another transmitter, written to its forward stream and published (a PUB with no subscriber).</summary>
        Forward1,

        /// <summary>The holder of a mesh: a <c>FWRD</c> of the frame's events delivered to one local multicatch cell.</summary>
        Forwarded1,
    }

    [Params(Shape.Multicatch1, Shape.Multicatch4, Shape.Anycatch4, Shape.AnycatchAcked4, Shape.Subscriptions10, Shape.Subscriptions10k, Shape.Targeted1000, Shape.Forward1,
        Shape.Forwarded1)]
    public Shape Case { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var sender = new DroppingSender();
        var counters = new TransmitterCounters();
        _processor = new CommandProcessor(TransmitterOptions.Default, Thid.NewRandom(), "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", sender, counters);
        var channel = "bench.orders.created";
        ReadOnlySpan<byte> extension = default;
        switch (Case)
        {
            case Shape.Multicatch1:
                Cell("rx", 0, "bench.orders.*", "multi");
                break;
            case Shape.Multicatch4:
                for (var i = 0; i < 4; i++)
                {
                    Cell("rx", i, "bench.orders.*", "multi");
                }

                break;
            case Shape.Anycatch4:
            case Shape.AnycatchAcked4:
                for (var i = 0; i < 4; i++)
                {
                    Cell("workers", i, "bench.orders.*", "any", acked: Case == Shape.AnycatchAcked4);
                }

                break;
            case Shape.Subscriptions10:
            case Shape.Subscriptions10k:
                var count = Case == Shape.Subscriptions10 ? 10 : 10_000;
                var id = Hello("rx", 0);
                for (var s = 0; s < count; s++)
                {
                    Command(id, $"J SUBS {{\"sub\":{s},\"pattern\":\"bench.{s}.*\"}}");
                }

                channel = $"bench.{count / 2}.created";
                break;
            case Shape.Targeted1000:
                for (var i = 0; i < 1000; i++)
                {
                    var metadata = new JObject { ["region"] = i % 2 == 0 ? "eu" : "us", ["load"] = (i % 100) / 100.0, ["version"] = $"{1 + (i % 3)}.0.0" };
                    Cell("renderers", i, "bench.orders.*", "any", metadata: metadata);
                }

                extension = "{\"target\":{\"region\":\"eu\",\"load\":{\"$lt\":0.5},\"version\":{\"$gte\":\"2.0.0\"}}}"u8;
                break;
            case Shape.Forward1:
                var holder = new Member(Thid.NewRandom(), 1, PeerState.Alive, "tcp://127.0.0.1:3", "tcp://127.0.0.1:4");
                var remote = new RemoteCell(new CellProfile(Thid.NewRandom(), "rx"), holder.Id, new CellVersion(1, 1));
                _processor.Routes.Add(new Subscription(remote, 1, ChannelPattern.Parse("bench.orders.*"), Catch.Multi, null));
                PooledBufferPool.Install(); // as the transmitter's host does: NetMQ's frames come from the shared pool
                _feed = new PeerFeed(TransmitterOptions.Default with { EventsEndpoint = "tcp://127.0.0.1:0" });
                _processor.Sink.Forwarder = new EventForwarder(_feed, () => _self, () => 1, id => id == holder.Id ? holder : null, 64 << 20, counters);
                break;
            case Shape.Forwarded1:
                Cell("rx", 0, "bench.orders.*", "multi");
                _sender = Thid.NewRandom();
                break;
        }

        _publisher = Hello("publisher", 0);
        var batch = new FrameBatch(Thynapse.Core.Command.Evnt);
        var body = new byte[100];
        for (var i = 0; i < Records; i++)
        {
            EventRecordWriter.Write(batch, false, (ulong)i + 1, channel, default, extension, body);
            batch.RecordWritten();
        }

        _frame = batch.Frame.ToArray();
        if (Case == Shape.Forwarded1)
        {
            // What an ingress forwards of the frame: its records, as one FWRD's records.
            var records = new System.Buffers.ArrayBufferWriter<byte>();
            var origin = Thid.NewRandom().ToByteArray();
            for (var i = 0; i < Records; i++)
            {
                ForwardRecords.Write(records, ForwardKind.Multicatch, origin, (ulong)i + 1, Encoding.ASCII.GetBytes(channel), default, body);
            }

            _frame = records.WrittenSpan.ToArray();
        }

        sender.Acker = Case == Shape.AnycatchAcked4 ? AckAll : null;
        RouteFrame(); // warm the route cache
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public void RouteFrame()
    {
        if (Case == Shape.Forwarded1)
        {
            _processor.Forwarded.Deliver(_sender, _frame, out _);
        }
        else
        {
            _processor.Handle(_publisher, _frame, default, 1, 0, 0);
        }

        _processor.FlushDirty();
    }

    [GlobalCleanup]
    public void Cleanup() => _feed?.Dispose();

    private void AckAll(byte[] routingId, ReadOnlySpan<byte> frame)
    {
        // Answer every anycatch delivery with one B ACKN, as a busy worker's SDK would. The ack frames are reused, so
        // that what the benchmark allocates is the transmitter's alone.
        if (!frame.StartsWith("B DLVR "u8))
        {
            return;
        }

        var acks = _spareAcks.Count > 0 ? _spareAcks.Pop() : new FrameBatch(Thynapse.Core.Command.Ackn);
        var reader = new DeliveryRecordReader(frame[7..]);
        while (reader.TryRead(out var record, out _))
        {
            TagRecord.Write(acks, record.Tag);
            acks.RecordWritten();
        }

        _pendingAcks.Add((routingId, acks));
        if (!_acking)
        {
            _acking = true;
            while (_pendingAcks.Count > 0)
            {
                var (id, ack) = _pendingAcks[^1];
                _pendingAcks.RemoveAt(_pendingAcks.Count - 1);
                _processor.Handle(id, ack.Frame, default, 1, 0, 0);
                ack.Reset();
                _spareAcks.Push(ack);
            }

            _acking = false;
        }
    }

    private readonly List<(byte[], FrameBatch)> _pendingAcks = [];
    private readonly Stack<FrameBatch> _spareAcks = new();
    private bool _acking;

    private void Cell(string service, int index, string pattern, string mode, bool acked = false, JObject? metadata = null)
    {
        var id = Hello(service, index, metadata);
        var subscription = new JObject { ["sub"] = 1, ["pattern"] = pattern, ["mode"] = mode };
        if (acked)
        {
            subscription["ack"] = true;
            subscription["prefetch"] = 1024;
        }

        Command(id, "J SUBS " + subscription.ToString(Newtonsoft.Json.Formatting.None));
    }

    private byte[] Hello(string service, int index, JObject? metadata = null)
    {
        var routingId = Encoding.ASCII.GetBytes($"{service}-{index}");
        var hello = new JObject { ["id"] = Thid.NewRandom().ToString(), ["service"] = service, ["encodings"] = new JArray("B", "J") };
        if (metadata is not null)
        {
            hello["metadata"] = metadata;
        }

        Command(routingId, "J HELO " + hello.ToString(Newtonsoft.Json.Formatting.None));
        return routingId;
    }

    private void Command(byte[] routingId, string header) => _processor.Handle(routingId, Encoding.UTF8.GetBytes(header), default, 1, 0, 0);

    /// <summary>Takes every frame and drops it (optionally answering deliveries with acks).</summary>
    private sealed class DroppingSender : IFrameSender
    {
        public Action<byte[], ReadOnlySpan<byte>>? Acker { get; set; }

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> frame)
        {
            Acker?.Invoke(routingId, frame);
            return SendOutcome.Sent;
        }

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body) => SendOutcome.Sent;
    }
}
