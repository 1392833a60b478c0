namespace Thynapse.Bench.Scenarios;

/// <summary>The scenarios of the issue, in its order, with their sizes for a quick and a full run.</summary>
internal static class Catalog
{
    public static IReadOnlyList<Scenario> All(bool quick)
    {
        long Q(long full, long small) => quick ? small : full;

        Metric msgs = new("rate", "throughput", "msgs/s", true);
        Metric deliveries = new("rate", "throughput", "deliveries/s", true);
        Metric reqs = new("rate", "throughput", "req/s", true);

        Scenario Flow(string number, string id, string title, Metric metric, Flow flow, Side? netMq = null) =>
            new(number, id, title, [metric],
                new Side(ctx => Runners.FlowAsync(ctx, SystemKind.Thynapse, flow)),
                new Side(ctx => Runners.FlowAsync(ctx, SystemKind.Nats, flow)),
                // Multicatch and anycatch without acknowledgements are at most once by design (PROTOCOL.md §3): a cell
                // slower than the publisher loses what overflows its queue, counted and told with SLOW (§8.2), as a
                // slow NATS subscriber is cut off. Those rows report the loss without failing the run.
                PromisesDelivery: false,
                NetMq: netMq);

        // The raw-NetMQ transport limits (references, not a competitor): a relay in Thynapse's topology, and direct pairs.
        Side Relay(int size, long count) => new(ctx => Runners.NetMqFlowAsync(ctx, new NetMqFlow("relay", size, count, Batch: 32 * 1024)));
        Side RelayRequests(long count, long window) => new(ctx => Runners.NetMqRequestAsync(ctx, new Request(Count: count, Window: window)));

        // Throughput runs leave their first half out (≥ 3 s of full load on this machine): see RunContext.WarmUp.
        Request pipelined = new(Count: Q(1_000_000, 100_000), Window: 1000, Warm: Q(500_000, 20_000));
        Request acked = new(Count: Q(1_000_000, 80_000), Window: 1000, Echoes: 4, ReplyBytes: 8, Warm: Q(500_000, 20_000));
        Scenario Reference(string number, string id, string title, NetMqFlow flow) =>
            new(number, id, title, [msgs], Side.None, Side.None, PromisesDelivery: false, NetMq: new Side(ctx => Runners.NetMqFlowAsync(ctx, flow)));

        var metaCells = quick ? 250 : 1000;
        var metaProcesses = quick ? 2 : 8; // 125 cells per process (NetMQ's MaxSockets, see scenario 10)
        Meta meta = new(Cells: metaCells, Processes: metaProcesses, Count: Q(200_000, 40_000));

        return
        [
            Flow("1", "1to1", "multicatch 1→1, 100 B", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 100, Count: Q(6_000_000, 300_000)),
                Relay(100, Q(2_000_000, 300_000))),
            Flow("2", "fanout4", "multicatch 1→4 cells (one service), 100 B", deliveries,
                new Flow(Receivers: 4, Mode: "multi", Size: 100, Count: Q(1_000_000, 150_000))),
            Flow("3", "any4", "anycatch 1→4 cells of one service, 100 B", msgs,
                new Flow(Receivers: 4, Mode: "any", Size: 100, Count: Q(1_000_000, 200_000))),

            // Thynapse: 4 × prefetch 256 = 1,024 unacknowledged at most, against NATS's window of 1,000 requests in flight
            // and, as the transport's limit, a NetMQ relay dealing batched requests to 4 echoes that answer 8 bytes each.
            new("4", "any4-acks", "anycatch with acks 1→4 (1,000 in flight)", [new("rate", "acked throughput", "msgs/s", true)],
                new Side(ctx => Runners.AckFlowAsync(ctx, new AckFlow(Receivers: 4, Count: Q(1_000_000, 80_000), Prefetch: 256, Warm: Q(500_000, 20_000)))),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, acked)),
                PromisesDelivery: true,
                NetMq: new Side(ctx => Runners.NetMqRequestAsync(ctx, acked))),

            Flow("5a", "1to1-1k", "multicatch 1→1, 1 KiB", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 1024, Count: Q(500_000, 100_000)),
                Relay(1024, Q(500_000, 100_000))),
            Flow("5b", "1to1-64k", "multicatch 1→1, 64 KiB", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 64 * 1024, Count: Q(20_000, 1_000))),

            new("6", "rr-seq", "request/reply, sequential, 100 B",
                [new("p50", "RTT p50", "µs", false), new("p99", "RTT p99", "µs", false), new("p999", "RTT p99.9", "µs", false)],
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Thynapse, new Request(Count: Q(20_000, 2_000), Window: 1))),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, new Request(Count: Q(20_000, 2_000), Window: 1))),
                PromisesDelivery: true,
                NetMq: RelayRequests(Q(20_000, 2_000), 1)),
            new("7", "rr-pipe", "request/reply, 1,000 in flight, 100 B", [reqs],
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Thynapse, pipelined)),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, pipelined)),
                PromisesDelivery: true,
                NetMq: new Side(ctx => Runners.NetMqRequestAsync(ctx, pipelined))),

            Flow("8", "pubs100", "100 publishers → 1 service (4 processes × 25), 100 B", msgs,
                new Flow(Receivers: 1, Mode: "any", Size: 100, Count: Q(1_000_000, 200_000), Publishers: 4, ConnsPerPublisher: 25)),
            Flow("9", "routing10k", "routing: 1 cell with 10,000 subscriptions, 100 B", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 100, Count: Q(1_000_000, 200_000), Subscriptions: 10_000)),

            // 8 × 125: with NetMQ's default MaxSockets (1,024 per process) one process cannot hold more than ~145 cells.
            new("10", "rss", quick ? "server RSS: idle, and with 250 connected cells (quick run; 1,000 in a full run)" : "server RSS: idle, and with 1,000 connected cells (8 processes × 125)",
                [new("idle", "RSS idle", "MiB", false), new("loaded", quick ? "RSS 250 cells" : "RSS 1,000 cells", "MiB", false)],
                new Side(ctx => Runners.RssAsync(ctx, SystemKind.Thynapse, cells: metaCells, processes: metaProcesses)),
                new Side(ctx => Runners.RssAsync(ctx, SystemKind.Nats, cells: metaCells, processes: metaProcesses)),
                PromisesDelivery: false),

            // NATS has no metadata routing: its stand-in is a queue group of the matching connections only, on a subject
            // that names the eligible set (decided outside NATS).
            new("11", "meta1000", quick ? "250 cells (quick run; 1,000 in a full run) and a targeted metadata query" : "1,000 cells and a targeted metadata query",
                [new("rate", "caught throughput", "events/s", true)],
                new Side(ctx => Runners.MetaAsync(ctx, SystemKind.Thynapse, meta)),
                new Side(ctx => Runners.MetaAsync(ctx, SystemKind.Nats, meta)),
                PromisesDelivery: false),

            // Across a cluster of three (issue 17, item 12): three transmitters in one mesh against three nats-servers
            // with routes; the publisher (requester) on the first server, the receivers on the others, round robin.
            Flow("C1", "x-1to1", "cluster of 3: multicatch 1→1, publisher and receiver on different servers, 100 B", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 100, Count: Q(6_000_000, 300_000), Servers: 3)),
            Flow("C2", "x-any4", "cluster of 3: anycatch 1→4 cells spread over the 3 servers, 100 B", msgs,
                new Flow(Receivers: 4, Mode: "any", Size: 100, Count: Q(1_000_000, 200_000), Servers: 3)),
            new("C3", "x-any4-acks", "cluster of 3: anycatch with acks 1→4 over the 3 servers (1,000 in flight)", [new("rate", "acked throughput", "msgs/s", true)],
                new Side(ctx => Runners.AckFlowAsync(ctx, new AckFlow(Receivers: 4, Count: Q(1_000_000, 80_000), Prefetch: 256, Warm: Q(500_000, 20_000), Servers: 3))),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, acked with { Servers = 3 })),
                PromisesDelivery: true),
            new("C4", "x-rr-seq", "cluster of 3: request/reply across two servers, sequential, 100 B",
                [new("p50", "RTT p50", "µs", false), new("p99", "RTT p99", "µs", false), new("p999", "RTT p99.9", "µs", false)],
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Thynapse, new Request(Count: Q(20_000, 2_000), Window: 1, Servers: 3))),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, new Request(Count: Q(20_000, 2_000), Window: 1, Servers: 3))),
                PromisesDelivery: true),

            // Issue 17: multicatch across 3 transmitters, 0 duplicates and 0 gaps over 1,000,000 events; receivers on servers 2, 3, 1.
            Flow("C5", "x-multi3", "cluster of 3: multicatch 1→3, one receiver on each server (the publisher's too), numbers checked, 100 B", deliveries,
                new Flow(Receivers: 3, Mode: "multi", Size: 100, Count: Q(1_000_000, 150_000), Servers: 3, Check: true)),

            Reference("R1", "ref-pubsub", "reference: NetMQ PUB→SUB direct, 100 B batched in 32 KiB frames",
                new NetMqFlow("direct", 100, Q(2_000_000, 300_000), Batch: 32 * 1024, Hwm: 0)),
            Reference("R2", "ref-pubsub-1", "reference: NetMQ PUB→SUB direct, one 100 B frame per message",
                new NetMqFlow("direct", 100, Q(1_000_000, 100_000), Batch: 0, Hwm: 0)),
        ];
    }
}
