using BenchmarkDotNet.Attributes;
using Thynapse.Core;

namespace Thynapse.Bench.Micro;

/// <summary>The token trie: finding the subscriptions of one channel among 10 or 10,000 patterns.</summary>
[MemoryDiagnoser]
public class MatcherBenchmarks
{
    private readonly PatternTrie<int> _trie = new();
    private readonly List<int> _found = [];

    [Params(10, 10_000)]
    public int Patterns { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        for (var i = 0; i < Patterns; i++)
        {
            _trie.Add(ChannelPattern.Parse(i % 2 == 0 ? $"orders.{i}.*" : $"orders.{i}.>"), i);
        }

        _trie.Add(ChannelPattern.Parse("orders.>"), -1);
    }

    [Benchmark]
    public int Match()
    {
        _found.Clear();
        _trie.Match("orders.4.created", _found);
        return _found.Count;
    }

    [Benchmark]
    public bool ValidateChannel() => Channel.TryValidate("orders.eu-west.created", out _);
}
