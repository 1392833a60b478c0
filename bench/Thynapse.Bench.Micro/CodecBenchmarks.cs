using BenchmarkDotNet.Attributes;
using Thynapse.Core;

namespace Thynapse.Bench.Micro;

/// <summary>Reading and writing the binary records of a 64-event frame (100-byte bodies).</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private const int Records = 64;
    private readonly byte[] _body = new byte[100];
    private readonly byte[] _origin = Thid.NewRandom().ToByteArray();
    private readonly FrameBatch _batch = new(Command.Evnt);
    private byte[] _eventFrame = [];
    private byte[] _deliveryFrame = [];

    [GlobalSetup]
    public void Setup()
    {
        var events = new FrameBatch(Command.Evnt);
        var deliveries = new FrameBatch(Command.Dlvr);
        for (var i = 0; i < Records; i++)
        {
            EventRecordWriter.Write(events, false, (ulong)i, "bench.orders.created", default, default, _body);
            DeliveryRecordWriter.Write(deliveries, _origin, (ulong)i, "bench.orders.created"u8, AnycatchFields.Multicatch, default, _body);
        }

        _eventFrame = events.Frame.ToArray();
        _deliveryFrame = deliveries.Frame.ToArray();
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public int ReadEventRecords()
    {
        FrameHeader.TryParse(_eventFrame, out _, out _, out var payload, out _);
        var reader = new EventRecordReader(payload);
        var total = 0;
        while (reader.TryRead(out var record, out _))
        {
            total += record.Body.Length;
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public int ReadDeliveryRecords()
    {
        FrameHeader.TryParse(_deliveryFrame, out _, out _, out var payload, out _);
        var reader = new DeliveryRecordReader(payload);
        var total = 0;
        while (reader.TryRead(out var record, out _))
        {
            total += record.Body.Length;
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public int WriteEventRecords()
    {
        for (var i = 0; i < Records; i++)
        {
            EventRecordWriter.Write(_batch, false, (ulong)i, "bench.orders.created", default, default, _body);
            _batch.RecordWritten();
        }

        var length = _batch.Length;
        _batch.Reset();
        return length;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public int WriteDeliveryRecords()
    {
        for (var i = 0; i < Records; i++)
        {
            DeliveryRecordWriter.Write(_batch, _origin, (ulong)i, "bench.orders.created"u8, AnycatchFields.Multicatch, default, _body);
            _batch.RecordWritten();
        }

        var length = _batch.Length;
        _batch.Reset();
        return length;
    }
}
