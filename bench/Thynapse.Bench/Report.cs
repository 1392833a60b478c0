using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Thynapse.Bench.Scenarios;

namespace Thynapse.Bench;

/// <summary>Median [min–max] of one side of one metric over the rounds that produced a value (<see cref="Rounds"/> in run order).</summary>
internal sealed record Summary(double Median, double Min, double Max, IReadOnlyList<double> Rounds)
{
    public static Summary? Of(IEnumerable<double> values)
    {
        var rounds = values.ToArray();
        var sorted = rounds.Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        var mid = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new Summary(median, sorted[0], sorted[^1], rounds);
    }
}

/// <summary>One row of the table: one metric of one scenario (a scenario with several metrics has several rows).</summary>
internal sealed record Row(
    Scenario Scenario,
    Metric Metric,
    bool FirstOfScenario,
    Summary? Thynapse,
    Summary? Nats,
    Summary? NetMq,
    string? ThynapseNote,
    string? NatsNote,
    string? NetMqNote,
    long? ThynapseLost,
    long? NatsLost,
    long? NetMqLost,
    int Errors)
{
    /// <summary>Higher is better: Thynapse/NATS for throughput, NATS/Thynapse for latency and memory.</summary>
    public double? Ratio => Better(Thynapse, Nats);

    /// <summary>How close Thynapse comes to the raw-NetMQ limit: Thynapse/NetMQ for throughput, NetMQ/Thynapse for latency (1 = at the limit).</summary>
    public double? LimitRatio => Better(Thynapse, NetMq);

    private double? Better(Summary? thynapse, Summary? other) =>
        thynapse is null || other is null || thynapse.Median == 0 || other.Median == 0
            ? null
            : Metric.HigherIsBetter ? thynapse.Median / other.Median : other.Median / thynapse.Median;
}

internal static class Report
{
    public static List<Row> Build(IReadOnlyList<Scenario> scenarios, Dictionary<Scenario, Outcomes> results)
    {
        var rows = new List<Row>();
        foreach (var scenario in scenarios)
        {
            var o = results[scenario];
            var first = true;
            foreach (var metric in scenario.Metrics)
            {
                rows.Add(new Row(
                    scenario,
                    metric,
                    first,
                    Summary.Of(Values(o.Thynapse, metric)),
                    Summary.Of(Values(o.Nats, metric)),
                    Summary.Of(Values(o.NetMq, metric)),
                    Note(o.Thynapse),
                    Note(o.Nats),
                    Note(o.NetMq),
                    Lost(o.Thynapse),
                    Lost(o.Nats),
                    Lost(o.NetMq),
                    o.Thynapse.Concat(o.Nats).Concat(o.NetMq).Count(x => x.Error is not null)));
                first = false;
            }
        }

        return rows;

        static IEnumerable<double> Values(List<Outcome> outcomes, Metric metric) =>
            outcomes.Where(o => o.Result?.Values.ContainsKey(metric.Key) == true).Select(o => o.Result!.Values[metric.Key]);

        // Summed over the rounds that completed; null where nothing is promised (or no round completed: exit code 2).
        static long? Lost(List<Outcome> outcomes) =>
            outcomes.Any(o => o.Result?.Lost is not null) ? outcomes.Sum(o => o.Result?.Lost ?? 0) : null;

        static string? Note(List<Outcome> outcomes) =>
            outcomes.FirstOrDefault(o => o.NotAvailableReason is not null)?.NotAvailableReason
            ?? (outcomes.Count(o => o.Error is not null) is > 0 and var e ? $"{e} run(s) failed" : null);
    }

    public static string Table(List<Row> rows, BenchOptions options, TimeSpan elapsed)
    {
        string[] header = ["#", "scenario", "metric/unit", "Thynapse median [min–max]", "NATS median [min–max]", "NetMQ limit (reference)", "T/N", "T/limit", "lost T / N"];
        var cells = new List<string[]> { header };
        foreach (var row in rows)
        {
            var netMq = Side(row.NetMq, row.NetMqNote, row.Metric.Unit);
            if (row.FirstOfScenario && row.NetMqLost > 0)
            {
                netMq += $" (lost {row.NetMqLost})";
            }

            cells.Add(
            [
                row.FirstOfScenario ? row.Scenario.Number : "",
                row.FirstOfScenario ? row.Scenario.Title : "",
                row.Metric.Name == row.Metric.Unit ? row.Metric.Name : $"{row.Metric.Name} ({row.Metric.Unit})",
                Side(row.Thynapse, row.ThynapseNote, row.Metric.Unit),
                Side(row.Nats, row.NatsNote, row.Metric.Unit),
                row.Scenario.Reference.IsNone ? "n/a" : netMq,
                Times(row.Ratio),
                Times(row.LimitRatio),
                row.FirstOfScenario && (row.ThynapseLost is not null || row.NatsLost is not null)
                    ? $"{row.ThynapseLost?.ToString(CultureInfo.InvariantCulture) ?? "–"} / {row.NatsLost?.ToString(CultureInfo.InvariantCulture) ?? "–"}{(row.Scenario.PromisesDelivery ? "" : " *")}"
                    : "",
            ]);
        }

        var widths = Enumerable.Range(0, header.Length).Select(i => cells.Max(c => c[i].Length)).ToArray();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Thynapse vs NATS — {(options.Quick ? "quick" : "full")} run, {options.Rounds} round(s), {elapsed.TotalSeconds:0} s.");
        text.AppendLine("T/N: higher is better for Thynapse (throughput T/N; latency and RSS N/T). T/limit: Thynapse against the raw-NetMQ");
        text.AppendLine("reference of the same topology (1 = at the transport limit; R rows are references only, not a competitor). Lost: summed over rounds;");
        text.AppendLine("a loss fails the run except on rows marked *, which are at most once (no acks): a cell slower than its publisher drops, counted.");
        for (var i = 0; i < cells.Count; i++)
        {
            text.AppendLine("| " + string.Join(" | ", cells[i].Select((c, j) => c.PadRight(widths[j]))) + " |");
            if (i == 0)
            {
                text.AppendLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
            }
        }

        return text.ToString();

        static string Times(double? ratio) => ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "–";
    }

    /// <summary>
    /// <c>{"scenarios":[{"name","metric","unit","thynapse":{"median","min","max"},"nats":{…},"ratio","lost", …extras}]}</c>,
    /// one entry per metric. <c>lost</c> is Thynapse's loss summed over rounds (the scenario's, repeated on each of its
    /// metrics), null where the scenario counts nothing (RSS); <c>promisesDelivery</c> says whether a loss fails the run.
    /// </summary>
    public static string Json(List<Row> rows)
    {
        var scenarios = new JsonArray();
        foreach (var row in rows)
        {
            scenarios.Add(new JsonObject
            {
                ["name"] = row.Scenario.Title,
                ["metric"] = row.Metric.Name,
                ["unit"] = row.Metric.Unit,
                ["thynapse"] = SideJson(row.Thynapse),
                ["nats"] = SideJson(row.Nats),
                ["ratio"] = row.Ratio,
                ["lost"] = row.Scenario.IsReferenceOnly ? null : row.ThynapseLost,

                // Extras.
                ["number"] = row.Scenario.Number,
                ["id"] = row.Scenario.Id,
                ["reference"] = row.Scenario.IsReferenceOnly,
                ["netmq"] = SideJson(row.NetMq),
                ["ratioNetmq"] = row.LimitRatio,
                ["promisesDelivery"] = row.Scenario.PromisesDelivery,
                ["lostNats"] = row.NatsLost,
                ["lostNetmq"] = row.NetMqLost,
                ["rounds"] = new JsonObject
                {
                    ["thynapse"] = Rounds(row.Thynapse),
                    ["nats"] = Rounds(row.Nats),
                    ["netmq"] = Rounds(row.NetMq),
                },
                ["notes"] = new JsonObject
                {
                    ["thynapse"] = row.ThynapseNote,
                    ["nats"] = row.NatsNote,
                    ["netmq"] = row.NetMqNote,
                },
                ["errors"] = row.Errors,
            });
        }

        return new JsonObject { ["scenarios"] = scenarios }.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

        static JsonObject? SideJson(Summary? s) => s is null ? null : new JsonObject
        {
            ["median"] = s.Median,
            ["min"] = s.Min,
            ["max"] = s.Max,
        };

        static JsonArray? Rounds(Summary? s) => s is null ? null : new JsonArray([.. s.Rounds.Select(v => (JsonNode?)v)]);
    }

    public static string Format(double value, string unit) => unit switch
    {
        "µs" => value.ToString(value < 100 ? "0.0" : "0", CultureInfo.InvariantCulture),
        "MiB" => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value >= 1e6 ? (value / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + "M"
            : value >= 1e3 ? (value / 1e3).ToString("0", CultureInfo.InvariantCulture) + "k"
            : value.ToString("0", CultureInfo.InvariantCulture),
    };

    private static string Side(Summary? s, string? note, string unit) => s is null
        ? note ?? "–"
        : $"{Format(s.Median, unit)} [{Format(s.Min, unit)}–{Format(s.Max, unit)}]" + (note is null ? "" : $" ({note})");
}
