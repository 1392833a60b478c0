using BenchmarkDotNet.Attributes;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Bench.Micro;

/// <summary>
/// The metadata query evaluator against 1,000 cells: a 3-clause filter, and a selector; and, on richer cells (about
/// ten fields, a nested object, two lists), a 3-clause filter whose first clause fails and a query using every operator.
/// </summary>
[MemoryDiagnoser]
public class QueryBenchmarks
{
    private const int Cells = 1000;

    private const string EveryOperator = """
        {
          "region": {"$in": ["ap", "eu"], "$nin": ["ap"], "$ne": "cn"},
          "load": {"$gt": 0, "$lte": 0.9, "$not": {"$gte": 0.95}},
          "version": {"$gte": "v1.2.0-rc.1", "$lt": "3.0.0"},
          "guilds": {"$contains": 1152921504606846977, "$ncontains": 7},
          "name": {"$contains": "cell"},
          "zone.rack.row": {"$exists": true, "$eq": 3},
          "$or": [{"tags": "gpu"}, {"tags": {"$in": ["fast", "slow"]}}],
          "$not": {"enabled": false},
          "$and": [{"absent": null}, {"cpus": {"$gte": 2.5}}]
        }
        """;

    private readonly MetadataQuery _filter = MetadataQuery.Parse(JObject.Parse("{\"region\":\"eu\",\"load\":{\"$lt\":0.5},\"version\":{\"$gte\":\"2.0.0\"}}"));
    private readonly MetadataQuery _firstFails = MetadataQuery.Parse(JObject.Parse("{\"region\":\"ap\",\"load\":{\"$lt\":0.5},\"version\":{\"$gte\":\"2.0.0\"}}"));
    private readonly MetadataQuery _everyOperator = MetadataQuery.Parse(JObject.Parse(EveryOperator));
    private readonly MetadataQuery _selector = MetadataQuery.Parse(JObject.Parse("{\"region\":\"eu\",\"$min\":\"load\"}"));
    private JObject[] _metadata = [];
    private JObject[] _rich = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _metadata = [.. Enumerable.Range(0, Cells).Select(i => new JObject
        {
            ["region"] = i % 2 == 0 ? "eu" : "us",
            ["load"] = random.NextDouble(),
            ["version"] = $"{1 + (i % 3)}.{i % 10}.0",
            ["guilds"] = new JArray(i, i + 1000),
        })];
        _rich = [.. Enumerable.Range(0, Cells).Select(i => new JObject
        {
            ["region"] = i % 2 == 0 ? "eu" : "us",
            ["load"] = i % 10 / 10.0,
            ["cpus"] = 4 + (i % 4),
            ["version"] = $"2.{i % 12}.{i % 3}",
            ["name"] = $"cell-{i}",
            ["enabled"] = true,
            ["guilds"] = new JArray(i, 1152921504606846977, i * 7),
            ["tags"] = new JArray(i % 3 == 0 ? "gpu" : "fast", "x"),
            ["zone"] = new JObject { ["id"] = $"z{i % 5}", ["rack"] = new JObject { ["row"] = 3 } },
        })];
    }

    [Benchmark(OperationsPerInvoke = Cells, Description = "3-clause filter, per cell")]
    public int Matches()
    {
        var matching = 0;
        foreach (var metadata in _metadata)
        {
            matching += _filter.Matches(metadata) ? 1 : 0;
        }

        return matching;
    }

    [Benchmark(OperationsPerInvoke = Cells, Description = "3-clause filter, first clause fails, per rich cell")]
    public int MatchesFirstClauseFails() => Count(_firstFails, _rich);

    [Benchmark(OperationsPerInvoke = Cells, Description = "every operator, per rich cell")]
    public int MatchesEveryOperator() => Count(_everyOperator, _rich);

    [Benchmark(Description = "$min selector over 1,000 cells")]
    public int Pick() => _selector.Pick(_metadata, static m => m);

    private static int Count(MetadataQuery query, JObject[] cells)
    {
        var matching = 0;
        foreach (var metadata in cells)
        {
            matching += query.Matches(metadata) ? 1 : 0;
        }

        return matching;
    }
}
