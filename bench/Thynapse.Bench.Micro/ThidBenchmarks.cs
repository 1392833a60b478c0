using BenchmarkDotNet.Attributes;
using Thynapse.Core;

namespace Thynapse.Bench.Micro;

/// <summary>THIDs: the SHA-1 of an event, and the text form.</summary>
[MemoryDiagnoser]
public class ThidBenchmarks
{
    private readonly Thid _origin = Thid.NewRandom();
    private readonly byte[] _body = new byte[100];
    private readonly string _text = Thid.NewRandom().ToString();

    [Benchmark(Description = "ForEvent (SHA-1, 100-byte body)")]
    public Thid ForEvent() => Thid.ForEvent(_origin, 42, "bench.orders.created"u8, _body);

    [Benchmark]
    public Thid Parse() => Thid.Parse(_text);

    [Benchmark(Description = "ToString (40 hex)")]
    public string Format() => _origin.ToString();
}
