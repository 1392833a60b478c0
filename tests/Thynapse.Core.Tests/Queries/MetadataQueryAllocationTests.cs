using System.Globalization;
using Thynapse.TestKit;

namespace Thynapse.Core.Tests;

/// <summary>
/// Evaluating a compiled query allocates nothing. What it costs per cell is measured in
/// bench/Thynapse.Bench.Micro (<c>QueryBenchmarks</c>), never here: timings belong to benchmarks (DESIGN-BRIEF §7).
/// </summary>
[TestClass]
public sealed class MetadataQueryAllocationTests : TestBase
{
    private const string ThreeClauses = "{'region': 'eu', 'load': {'$lt': 0.5}, 'version': {'$gte': '2.0.0'}}";

    private const string EveryOperator = """
        {
          'region': {'$in': ['ap', 'eu'], '$nin': ['ap'], '$ne': 'cn'},
          'load': {'$gt': 0, '$lte': 0.9, '$not': {'$gte': 0.95}},
          'version': {'$gte': 'v1.2.0-rc.1', '$lt': '3.0.0'},
          'guilds': {'$contains': 1152921504606846977, '$ncontains': 7},
          'name': {'$contains': 'cell'},
          'zone.rack.row': {'$exists': true, '$eq': 3},
          '$or': [{'tags': 'gpu'}, {'tags': {'$in': ['fast', 'slow']}}],
          '$not': {'enabled': false},
          '$and': [{'absent': null}, {'cpus': {'$gte': 2.5}}]
        }
        """;

    // One delegate for every call: each lambda expression caches its own delegate on first use, and a second
    // lambda inside the measured loop would allocate that cache there.
    private static readonly Func<JObject, JObject?> MetadataOf = static cell => cell;

    [TestMethod]
    [DataRow(ThreeClauses, DisplayName = "three clauses")]
    [DataRow(EveryOperator, DisplayName = "every operator")]
    [DataRow("{'region': 'us', '$min': 'load'}", DisplayName = "with a selector")]
    public void Matches_AfterWarmUp_AllocatesNothing(string json)
    {
        var query = QueryJson.Query(json);
        var cells = SomeCells(1_000);
        var warm = Evaluate(query, cells) + query.Pick(cells, MetadataOf);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var matched = 0;
        for (var round = 0; round < 20; round++)
        {
            matched += Evaluate(query, cells) + query.Pick(cells, MetadataOf);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.AreEqual(0L, allocated, $"{allocated} bytes over 20,000 evaluations and 20 picks");
        Assert.AreEqual(warm * 20, matched);
        Assert.IsGreaterThan(0, warm);
    }

    [TestMethod]
    public void Matches_EveryOperatorQuery_MatchesTheCellsItShould()
    {
        var cells = SomeCells(100);
        var query = QueryJson.Query(EveryOperator);

        // Of the clauses, only region, load (0 fails $gt) and guilds ($ncontains 7: cells 1 and 7) tell SomeCells apart.
        var expected = cells.Count(cell => (string)cell["region"]! == "eu" && (double)cell["load"]! > 0
            && !((JArray)cell["guilds"]!).Any(g => (long)g == 7));
        Assert.AreEqual(expected, Evaluate(query, cells));
    }

    private static int Evaluate(MetadataQuery query, JObject[] cells)
    {
        var matched = 0;
        for (var i = 0; i < cells.Length; i++)
        {
            if (query.Matches(cells[i]))
            {
                matched++;
            }
        }

        return matched;
    }

    // Realistic cells: about ten fields, a nested object, two lists, a version; half in 'eu', loads 0.0–0.9.
    private static JObject[] SomeCells(int count)
    {
        var cells = new JObject[count];
        for (var i = 0; i < count; i++)
        {
            cells[i] = new JObject
            {
                ["region"] = i % 2 == 0 ? "eu" : "us",
                ["load"] = i % 10 / 10.0,
                ["cpus"] = 4 + (i % 4),
                ["version"] = string.Create(CultureInfo.InvariantCulture, $"2.{i % 12}.{i % 3}"),
                ["name"] = string.Create(CultureInfo.InvariantCulture, $"cell-{i}"),
                ["enabled"] = true,
                ["guilds"] = new JArray(i, 1152921504606846977, i * 7),
                ["tags"] = new JArray(i % 3 == 0 ? "gpu" : "fast", "x"),
                ["zone"] = new JObject { ["id"] = string.Create(CultureInfo.InvariantCulture, $"z{i % 5}"), ["rack"] = new JObject { ["row"] = 3 } },
            };
        }

        return cells;
    }
}
