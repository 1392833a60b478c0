namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Pauses between attempts to reach a seed or a lost member, retried forever: the first <c>min</c>, doubling up to
/// <c>max</c>, each drawn within ±25% of its nominal length so that members that lost the same peer do not retry in step.
/// </summary>
internal sealed class Backoff(long minTicks, long maxTicks, Random random)
{
    private long _nominal = Math.Max(1, minTicks);

    /// <summary>The failures in a row so far.</summary>
    public int Failures { get; private set; }

    /// <summary>The next pause (ticks), and doubles the one after.</summary>
    public long Next()
    {
        var pause = (long)(_nominal * (0.75 + (random.NextDouble() * 0.5)));
        _nominal = Math.Min(maxTicks, _nominal * 2);
        Failures++;
        return Math.Max(1, pause);
    }

    /// <summary>Starts again from the shortest pause.</summary>
    public void Reset()
    {
        _nominal = Math.Max(1, minTicks);
        Failures = 0;
    }
}
