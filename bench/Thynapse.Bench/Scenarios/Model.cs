namespace Thynapse.Bench.Scenarios;

/// <summary>One row of the table: what a scenario measures.</summary>
/// <param name="Key">The key the runner returns the value under.</param>
/// <param name="HigherIsBetter">Throughput: ratio = Thynapse/NATS; latency and memory: ratio = NATS/Thynapse.</param>
internal sealed record Metric(string Key, string Name, string Unit, bool HigherIsBetter);

/// <summary>What one run of one side produced.</summary>
/// <param name="Values">By <see cref="Metric.Key"/>.</param>
/// <param name="Lost">Messages lost (sent minus received, summed over receivers); null where nothing is promised.</param>
/// <param name="Note">Anything worth reporting next to the number (drops at the transmitter, skew…).</param>
internal sealed record RunResult(IReadOnlyDictionary<string, double> Values, long? Lost, string? Note = null);

/// <summary>A side of a scenario: a runner, or the reason there is none yet.</summary>
internal sealed record Side(Func<RunContext, Task<RunResult>>? Run, string? NotAvailable = null)
{
    /// <summary>Not measured, and nothing to say about it (a reference row's Thynapse and NATS sides, most rows' NetMQ side).</summary>
    public static Side None { get; } = new(null, null);

    public static Side Na(string reason) => new(null, reason);

    public bool IsNone => Run is null && NotAvailable is null;
}

/// <summary>A scenario: run on Thynapse, then on NATS, then (where there is one) the raw-NetMQ reference, in each round.</summary>
/// <param name="Number">The numbering (1, 5a, …; R1… for reference-only rows); <c>--only</c> accepts it or <paramref name="Id"/>.</param>
/// <param name="PromisesDelivery">Thynapse or NATS losing messages here fails the run (exit code 1); NetMQ references never do.</param>
/// <param name="NetMq">The transport limit measured on raw NetMQ in the same topology (<see cref="Side.None"/>: not measured).</param>
internal sealed record Scenario(
    string Number,
    string Id,
    string Title,
    IReadOnlyList<Metric> Metrics,
    Side Thynapse,
    Side Nats,
    bool PromisesDelivery,
    Side? NetMq = null)
{
    public Side Reference => NetMq ?? Side.None;

    /// <summary>A row that only holds a NetMQ reference (no Thynapse or NATS side).</summary>
    public bool IsReferenceOnly => Thynapse.IsNone && Nats.IsNone;

    public bool Matches(string selector) =>
        string.Equals(selector, Id, StringComparison.OrdinalIgnoreCase)
        || string.Equals(selector, Number, StringComparison.OrdinalIgnoreCase)
        || (Number.Length > 1 && char.IsLetter(Number[^1]) && selector == Number[..^1]); // "5" selects 5a and 5b
}

/// <summary>What every runner may need.</summary>
internal sealed record RunContext(bool Quick, string? NatsServer)
{
    /// <summary>The longest a single side run may take before it is failed (and its processes killed).</summary>
    public TimeSpan RunTimeout => Quick ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(240);

    /// <summary>
    /// How long each flow runs at full speed before what its receivers count (<see cref="Roles.FullSpeedWarmUp"/>): on two
    /// saturated cores the .NET processes took seconds to reach their steady rate (tiered JIT; bench/README.md,
    /// "Warm-up"), NATS none. None in a quick run, a smoke check that fits in a minute (its figures include the ramp: not
    /// ones to quote).
    /// </summary>
    public TimeSpan WarmUp => TimeSpan.FromSeconds(Quick ? 0 : 4);

    /// <summary>Receivers whose counts stop moving this long after the publishers are done have lost the rest.</summary>
    public TimeSpan StallTimeout => TimeSpan.FromSeconds(Quick ? 1 : 3);

    /// <summary>Pause before reading a server's RSS (JIT, first allocations, HELO handling settle).</summary>
    public TimeSpan Settle => TimeSpan.FromMilliseconds(Quick ? 400 : 1000);

    /// <summary>How long processes get to connect and subscribe.</summary>
    public TimeSpan ReadyTimeout => TimeSpan.FromSeconds(Quick ? 60 : 180);
}
