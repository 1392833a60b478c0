namespace Thynapse.Bench.Scenarios;

/// <summary>The scenarios of the issue, in its order, with their sizes for a quick and a full run.</summary>
internal static class Catalog
{
    public static IReadOnlyList<Scenario> All(bool quick)
    {
        long Q(long full, long small) => quick ? small : full;

        Metric msgs = new("rate", "msgs/s", "msgs/s", true);
        Metric deliveries = new("rate", "deliveries/s", "deliveries/s", true);
        Metric reqs = new("rate", "req/s", "req/s", true);

        Scenario Flow(string number, string id, string title, Metric metric, Flow flow, Side? thynapse = null, Side? nats = null) =>
            new(number, id, title, [metric],
                thynapse ?? new Side(ctx => Runners.FlowAsync(ctx, SystemKind.Thynapse, flow)),
                nats ?? new Side(ctx => Runners.FlowAsync(ctx, SystemKind.Nats, flow)),
                PromisesDelivery: true);

        return
        [
            Flow("1", "1to1", "multicatch 1→1, 100 B", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 100, Count: Q(2_000_000, 300_000))),
            Flow("2", "fanout4", "multicatch 1→4 cells (one service), 100 B", deliveries,
                new Flow(Receivers: 4, Mode: "multi", Size: 100, Count: Q(1_000_000, 150_000))),
            Flow("3", "any4", "anycatch 1→4 cells of one service, 100 B", msgs,
                new Flow(Receivers: 4, Mode: "any", Size: 100, Count: Q(1_000_000, 200_000))),

            // Acks: Thynapse has none yet. To fill in later, give the Thynapse side a runner (e.g. a Runners.RequestAsync
            // variant where receivers ack) and keep the metric: acknowledged msgs/s with a window of 1,000 in flight.
            new("4", "any4-acks", "anycatch with acks 1→4 (window 1,000)", [new("rate", "acked msgs/s", "msgs/s", true)],
                Side.Na("n/a (acks not implemented)"),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, new Request(Count: Q(500_000, 100_000), Window: 1000, Echoes: 4, ReplyBytes: 8))),
                PromisesDelivery: true),

            Flow("5a", "1to1-1k", "multicatch 1→1, 1 KiB", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 1024, Count: Q(500_000, 100_000))),
            Flow("5b", "1to1-64k", "multicatch 1→1, 64 KiB", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 64 * 1024, Count: Q(20_000, 2_000))),

            new("6", "rr-seq", "request/reply, sequential, 100 B",
                [new("p50", "RTT p50", "µs", false), new("p99", "RTT p99", "µs", false), new("p999", "RTT p99.9", "µs", false)],
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Thynapse, new Request(Count: Q(20_000, 4_000), Window: 1))),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, new Request(Count: Q(20_000, 4_000), Window: 1))),
                PromisesDelivery: true),
            new("7", "rr-pipe", "request/reply, 1,000 in flight, 100 B", [reqs],
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Thynapse, new Request(Count: Q(500_000, 100_000), Window: 1000))),
                new Side(ctx => Runners.RequestAsync(ctx, SystemKind.Nats, new Request(Count: Q(500_000, 100_000), Window: 1000))),
                PromisesDelivery: true),

            Flow("8", "pubs100", "100 publishers → 1 service (4 processes × 25), 100 B", msgs,
                new Flow(Receivers: 1, Mode: "any", Size: 100, Count: Q(1_000_000, 200_000), Publishers: 4, ConnsPerPublisher: 25)),
            Flow("9", "routing10k", "routing: 1 cell with 10,000 subscriptions, 100 B", msgs,
                new Flow(Receivers: 1, Mode: "multi", Size: 100, Count: Q(1_000_000, 200_000), Subscriptions: 10_000)),

            // 8 × 125: with NetMQ's default MaxSockets (1,024 per process) one process cannot hold more than ~145 cells.
            new("10", "rss", "server RSS: idle, and with 1,000 connected cells (8 processes × 125)",
                [new("idle", "RSS idle", "MiB", false), new("loaded", "RSS 1,000 cells", "MiB", false)],
                new Side(ctx => Runners.RssAsync(ctx, SystemKind.Thynapse, cells: 1000, processes: 8)),
                new Side(ctx => Runners.RssAsync(ctx, SystemKind.Nats, cells: 1000, processes: 8)),
                PromisesDelivery: false),

            new("11", "meta1000", "1,000 cells and a targeted metadata query", [new("rate", "queries/s", "queries/s", true)],
                Side.Na("n/a (metadata queries not implemented)"),
                Side.Na("n/a (no NATS equivalent chosen yet)"),
                PromisesDelivery: false),
        ];
    }
}
