namespace Thynapse.Core.Internal;

/// <summary>
/// The clock a thread judges its peers' liveness by: the transmitter's routing thread (liveness, acknowledgement
/// deadlines, slow-cell graces) and a cell's socket thread (its transmitter's liveness). It follows the
/// <see cref="TimeProvider"/>, except that a gap between two readings longer than <see cref="MaxStep"/> counts as
/// <see cref="MaxStep"/> only.
/// </summary>
/// <remarks>
/// The owning thread reads the clock whenever it handles input and at every tick of its timer (at most 100 ms apart
/// on a transmitter), so a longer gap means the thread itself was not running: a GC pause, CPU starvation, a SIGSTOP
/// of the process. During such a stall the cells' beats and acknowledgements wait
/// unread in the sockets (and NetMQ's I/O thread, stalled too, may not even have read them from TCP yet); judging
/// the cells on that time would expire healthy cells for the transmitter's own silence (issue 15, finding 7: a 1 s
/// pause with a 1 s liveness dropped every cell at once, and their beats arrived 300 ms later). So time the thread
/// did not run is not counted against anybody. This is Lifeguard's rule for SWIM (a member that is itself slow
/// slows its verdicts), which the mesh's failure detector needs as well. One thread only.
/// </remarks>
internal sealed class StallAwareClock
{
    private readonly TimeProvider _time;
    private long _lastRaw;
    private long _now;

    /// <param name="time">The source of raw timestamps.</param>
    /// <param name="maxStep">The longest gap between two readings that still counts in full.</param>
    public StallAwareClock(TimeProvider time, TimeSpan maxStep)
    {
        _time = time;
        MaxStep = maxStep;
        _lastRaw = time.GetTimestamp();
        _now = _lastRaw;
    }

    /// <summary>The longest gap between two readings that counts in full (a cell sets it from its heartbeat).</summary>
    public TimeSpan MaxStep
    {
        get => TimeSpan.FromSeconds((double)MaxStepTicks / _time.TimestampFrequency);
        set => MaxStepTicks = Math.Max(1, (long)(value.TotalSeconds * _time.TimestampFrequency));
    }

    /// <summary><see cref="MaxStep"/> in timestamp ticks.</summary>
    public long MaxStepTicks { get; private set; }

    /// <summary>Ticks per second of <see cref="Now"/> (those of the <see cref="TimeProvider"/>).</summary>
    public long Frequency => _time.TimestampFrequency;

    /// <summary>The routing time at the last reading, in timestamp ticks.</summary>
    public long Now => _now;

    /// <summary>Time not counted because the thread was stalled, in all (timestamp ticks).</summary>
    public long Stalled { get; private set; }

    /// <summary>The longest single stall so far (timestamp ticks).</summary>
    public long LongestStall { get; private set; }

    /// <summary>Reads the <see cref="TimeProvider"/> and advances; returns the new routing time.</summary>
    public long Advance() => Advance(_time.GetTimestamp());

    /// <summary>Advances to the raw timestamp <paramref name="raw"/> (ignored if earlier than the last one).</summary>
    public long Advance(long raw)
    {
        var step = raw - _lastRaw;
        if (step <= 0)
        {
            return _now;
        }

        _lastRaw = raw;
        if (step > MaxStepTicks)
        {
            var lost = step - MaxStepTicks;
            Stalled += lost;
            LongestStall = Math.Max(LongestStall, lost);
            step = MaxStepTicks;
        }

        _now += step;
        return _now;
    }

    /// <summary>Ticks of this clock in <paramref name="span"/>.</summary>
    public long TicksOf(TimeSpan span) => (long)(span.TotalSeconds * Frequency);

    /// <summary>The span of <paramref name="ticks"/> ticks of this clock.</summary>
    public TimeSpan SpanOf(long ticks) => TimeSpan.FromSeconds((double)ticks / Frequency);
}
