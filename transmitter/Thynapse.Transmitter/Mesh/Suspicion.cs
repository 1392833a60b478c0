using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// One member's suspicion (Lifeguard's local-health-aware suspicion, PROTOCOL.md §12.7): it starts at
/// <see cref="MaxTicks"/> and shrinks towards <see cref="MinTicks"/> as independent members confirm it, reaching the
/// minimum with <see cref="Expected"/> confirmations; a mesh too small to give them starts at the minimum.
/// </summary>
/// <remarks>
/// The shape is memberlist's (<c>suspicion.go</c>): timeout = max − (max − min) · log(c + 1) / log(k + 1) for c
/// confirmations beyond the first, never below min. Independent suspicions of the same member are evidence that the
/// problem is the member's, not the suspecting member's own, so a well-confirmed suspicion need not wait long.
/// </remarks>
internal sealed class Suspicion
{
    private readonly HashSet<Thid> _confirmations = [];

    /// <param name="from">The member whose suspicion started it.</param>
    /// <param name="start">When it started (routing clock).</param>
    /// <param name="expected">Confirmations beyond the first that take it to the minimum (0: start at the minimum).</param>
    /// <param name="minTicks">The shortest suspicion.</param>
    /// <param name="maxTicks">The longest, with no confirmation.</param>
    public Suspicion(Thid from, long start, int expected, long minTicks, long maxTicks)
    {
        Start = start;
        Expected = expected;
        MinTicks = minTicks;
        MaxTicks = Math.Max(minTicks, maxTicks);
        _confirmations.Add(from);
    }

    public long Start { get; }

    public int Expected { get; }

    public long MinTicks { get; }

    public long MaxTicks { get; }

    /// <summary>Members that suspect it, the first included.</summary>
    public int Confirmations => _confirmations.Count;

    /// <summary>Adds a confirmation; false when <paramref name="from"/> had already confirmed it.</summary>
    public bool Confirm(Thid from) => _confirmations.Add(from);

    /// <summary>How long the suspicion lasts with the confirmations so far (ticks).</summary>
    public long TimeoutTicks
    {
        get
        {
            if (Expected < 1)
            {
                return MinTicks;
            }

            var beyondFirst = _confirmations.Count - 1;
            var fraction = Math.Log(beyondFirst + 1.0) / Math.Log(Expected + 1.0);
            var timeout = (long)(MaxTicks - (fraction * (MaxTicks - MinTicks)));
            return Math.Max(MinTicks, timeout);
        }
    }

    /// <summary>True once it has lasted its timeout, stretched by <paramref name="healthFactor"/> (1 when healthy).</summary>
    public bool HasExpired(long now, int healthFactor) => now - Start >= TimeoutTicks * healthFactor;
}
