using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Thynapse.Bench.Roles;

/// <summary>Runs one role in this process: the orchestrator launched us with <c>--role name</c>.</summary>
internal static class RoleHost
{
    public static async Task<int> RunAsync(string role, RoleArgs args)
    {
        RoleIo.Start();
        try
        {
            Task run = role switch
            {
                "transmitter" => ServerRoles.TransmitterAsync(args),
                "nats-guard" => ServerRoles.NatsGuardAsync(args),
                "t-recv" => ThynapseRoles.ReceiverAsync(args),
                "t-pub" => ThynapseRoles.PublisherAsync(args),
                "t-echo" => ThynapseRoles.EchoAsync(args),
                "t-req" => ThynapseRoles.RequesterAsync(args),
                "t-idle" => ThynapseRoles.IdleAsync(args),
                "n-recv" => NatsRoles.ReceiverAsync(args),
                "n-pub" => NatsRoles.PublisherAsync(args),
                "n-echo" => NatsRoles.EchoAsync(args),
                "n-req" => NatsRoles.RequesterAsync(args),
                "n-idle" => NatsRoles.IdleAsync(args),
                "t-ack" => ThynapseRoles.AckReceiverAsync(args),
                "t-meta" => ThynapseRoles.MetaCellsAsync(args),
                "n-meta" => NatsRoles.MetaConnectionsAsync(args),
                "m-relay" => NetMqRoles.RelayAsync(args),
                "m-pub" => NetMqRoles.PublisherAsync(args),
                "m-sub" => NetMqRoles.SubscriberAsync(args),
                "m-echo" => NetMqRoles.EchoAsync(args),
                "m-req" => NetMqRoles.RequesterAsync(args),
                _ => throw new ArgumentException($"unknown role '{role}'"),
            };
            await run;
            return 0;
        }
        catch (Exception ex)
        {
            RoleIo.Error(ex);
            return 1;
        }
    }

    /// <summary>Blocks until the orchestrator stops us (stdin closes or says <c>stop</c>; the process then exits).</summary>
    public static Task ParkAsync() => Task.Delay(Timeout.Infinite);
}

/// <summary>
/// Paces a publisher's first events (the warm-up its receivers leave out of the measurement) to a fixed rate, so
/// that every process on the path reaches its optimised code before the stream runs at full speed. Both systems'
/// publishers use it with the same numbers.
/// </summary>
internal sealed class WarmUpPace(long events, double perSecond)
{
    private const int Step = 1_000;
    private readonly long _start = Stopwatch.GetTimestamp();

    /// <summary>
    /// Before publishing event number <paramref name="sent"/>: waits while ahead of the pace (warm-up only), calling
    /// <paramref name="beforePause"/> first (a client that buffers writes flushes them there).
    /// </summary>
    public void Wait(long sent, Action? beforePause = null)
    {
        if (sent >= events || sent % Step != 0)
        {
            return;
        }

        var due = _start + (long)(sent / perSecond * Stopwatch.Frequency);
        if (Stopwatch.GetTimestamp() < due)
        {
            beforePause?.Invoke();
        }

        while (Stopwatch.GetTimestamp() < due)
        {
            Thread.Sleep(1); // a load generator's pacing, not a wait for a condition
        }
    }

    /// <summary>From the publisher's <c>--warm</c> and <c>--warm-rate</c> arguments (none: no pacing).</summary>
    public static WarmUpPace From(RoleArgs args) => new(args.Long("warm", 0), args.Long("warm-rate", 250_000));
}

/// <summary>
/// A publisher's full-speed warm-up: it publishes for <c>--warm-seconds</c> before its <c>--count</c> counted events,
/// so that every process on the path runs its optimised code under the load being measured (.NET's tiered JIT needs a
/// few seconds of it on two busy cores), and its receivers leave that time out (<see cref="Tally"/>). Both systems get it.
/// </summary>
internal sealed class FullSpeedWarmUp(double seconds, long count)
{
    /// <summary>Events published between two looks at the clock.</summary>
    public const int Step = 10_000;

    private readonly long _until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    private long _total = seconds > 0 ? long.MaxValue : count;

    /// <summary>
    /// How many events to publish in all, <paramref name="sent"/> so far: open while warming up (the clock is read every
    /// <see cref="Step"/> events), then fixed.
    /// </summary>
    public long Total(long sent)
    {
        if (_total == long.MaxValue && sent % Step == 0 && Stopwatch.GetTimestamp() >= _until)
        {
            _total = sent + count;
        }

        return _total;
    }

    /// <summary>From the publisher's <c>--warm-seconds</c> (none: no warm-up) and <c>--count</c> arguments.</summary>
    public static FullSpeedWarmUp From(RoleArgs args) => new(args.Double("warm-seconds", 0), args.Long("count"));
}

/// <summary>
/// A receiver's count: how many arrived, when the warm-up ended, when the last one arrived. Throughput is
/// (count − warmCount) / (lastTs − warmTs), timestamps from <see cref="Stopwatch"/> (CLOCK_MONOTONIC, comparable across
/// processes on Linux). The warm-up ends at the first arrival that is both the <paramref name="warm"/>-th or later and at
/// least <paramref name="warmSeconds"/> after the first arrival.
/// </summary>
internal sealed class Tally(long warm, double warmSeconds = 0)
{
    private readonly long _warmTicks = (long)(warmSeconds * Stopwatch.Frequency);
    private long _count;
    private long _firstTs;
    private long _warmCount;
    private long _warmTs;
    private long _lastTs;

    public long Count => Volatile.Read(ref _count);

    /// <summary>One arrival (thread-safe: several subscriptions may deliver concurrently).</summary>
    public void Hit() => Arrived(Interlocked.Increment(ref _count));

    /// <summary><paramref name="n"/> arrivals read together by one of several reader threads.</summary>
    public void AddShared(int n)
    {
        if (n > 0)
        {
            Arrived(Interlocked.Add(ref _count, n));
        }
    }

    /// <summary><paramref name="n"/> arrivals read together (single reader thread).</summary>
    public void Add(int n)
    {
        if (n > 0)
        {
            var count = _count + n;
            Volatile.Write(ref _count, count);
            Arrived(count);
        }
    }

    public JsonObject Report() => new()
    {
        ["count"] = Volatile.Read(ref _count),
        ["warmCount"] = Volatile.Read(ref _warmCount),
        ["warmTs"] = Volatile.Read(ref _warmTs),
        ["lastTs"] = Volatile.Read(ref _lastTs),
    };

    private void Arrived(long count)
    {
        var now = Stopwatch.GetTimestamp();
        if (Volatile.Read(ref _warmTs) == 0)
        {
            var first = Volatile.Read(ref _firstTs);
            if (first == 0)
            {
                first = Interlocked.CompareExchange(ref _firstTs, now, 0) is var seen && seen != 0 ? seen : now;
            }

            if (count >= warm && now - first >= _warmTicks && Interlocked.CompareExchange(ref _warmTs, now, 0) == 0)
            {
                Volatile.Write(ref _warmCount, count);
            }
        }

        Volatile.Write(ref _lastTs, now);
    }
}

/// <summary>
/// Which event ids (0…capacity−1, stamped in the first 8 bytes of the body) a receiving process caught: a bitmap, so
/// that the orchestrator can OR those of all receivers and count distinct events (and duplicates) exactly.
/// </summary>
internal sealed class SeenSet(long capacity)
{
    private readonly long[] _bits = new long[(capacity + 63) / 64];
    private long _outOfRange;

    public long OutOfRange => Interlocked.Read(ref _outOfRange);

    /// <summary>Marks <paramref name="id"/>; false if it was already marked (a duplicate) or is out of range. Thread-safe.</summary>
    public bool Mark(long id)
    {
        if ((ulong)id >= (ulong)capacity)
        {
            Interlocked.Increment(ref _outOfRange);
            return false;
        }

        var bit = 1L << (int)(id & 63);
        return (Interlocked.Or(ref _bits[id >> 6], bit) & bit) == 0;
    }

    public string ToBase64()
    {
        var bytes = new byte[_bits.Length * 8];
        for (var i = 0; i < _bits.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), Volatile.Read(ref _bits[i]));
        }

        return Convert.ToBase64String(bytes);
    }

    /// <summary>The number of distinct ids marked in at least one of the bitmaps (as sent by <see cref="ToBase64"/>).</summary>
    public static long DistinctOfUnion(IEnumerable<string> bitmaps)
    {
        byte[]? union = null;
        foreach (var bitmap in bitmaps)
        {
            var bytes = Convert.FromBase64String(bitmap);
            union ??= new byte[bytes.Length];
            for (var i = 0; i < Math.Min(bytes.Length, union.Length); i++)
            {
                union[i] |= bytes[i];
            }
        }

        return union is null ? 0 : union.Sum(b => (long)System.Numerics.BitOperations.PopCount(b));
    }
}

/// <summary>Round-trip times of a requester, and its completions for throughput.</summary>
internal sealed class Latencies(long count)
{
    private readonly long[] _sentTs = new long[count];
    private readonly long[] _rtt = new long[count];

    public void Sent(long id, long ts) => _sentTs[id] = ts;

    public void Replied(long id, long ts) => _rtt[id] = ts - _sentTs[id];

    /// <summary>Percentiles in µs over requests [<paramref name="from"/>, <paramref name="to"/>) that were answered.</summary>
    public JsonObject Summary(long from, long to)
    {
        var measured = _rtt.AsSpan((int)from, (int)Math.Max(0, to - from)).ToArray().Where(t => t > 0).ToArray();
        Array.Sort(measured);
        double Us(double q) => measured.Length == 0 ? 0 : measured[(int)Math.Min(measured.Length - 1, Math.Round(q * (measured.Length - 1)))] * 1e6 / Stopwatch.Frequency;
        return new JsonObject
        {
            ["measured"] = measured.Length,
            ["p50"] = Us(0.50),
            ["p99"] = Us(0.99),
            ["p999"] = Us(0.999),
            ["mean"] = measured.Length == 0 ? 0 : measured.Average() * 1e6 / Stopwatch.Frequency,
        };
    }
}
