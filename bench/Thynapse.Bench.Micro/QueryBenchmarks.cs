using BenchmarkDotNet.Attributes;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Bench.Micro;

/// <summary>The metadata query evaluator against 1,000 cells: a 3-clause filter, and a selector.</summary>
[MemoryDiagnoser]
public class QueryBenchmarks
{
    private const int Cells = 1000;
    private readonly MetadataQuery _filter = MetadataQuery.Parse(JObject.Parse("{\"region\":\"eu\",\"load\":{\"$lt\":0.5},\"version\":{\"$gte\":\"2.0.0\"}}"));
    private readonly MetadataQuery _selector = MetadataQuery.Parse(JObject.Parse("{\"region\":\"eu\",\"$min\":\"load\"}"));
    private JObject[] _metadata = [];

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

    [Benchmark(Description = "$min selector over 1,000 cells")]
    public int Pick() => _selector.Pick(_metadata, static m => m);
}
