using System.Net;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// Slows the guessing of secrets and resume tokens, per source address (PROTOCOL.md §5.1): every failed attempt
/// (<c>AUTHENTICATION_FAILED</c>, <c>ID_IN_USE</c>, <c>ID_RESERVED</c>) counts against its source. The first
/// <see cref="FreeFailures"/> cost nothing (a typo, a cell racing its own old session); each one after them makes the
/// source wait before its next attempt is even looked at, twice as long each time from <see cref="FirstDelay"/> up to
/// <see cref="MaxDelay"/>; at <c>failuresBeforeBlock</c> (0: nothing is limited) the source is refused outright for <c>block</c>. While a source
/// waits or is refused, its <c>HELO</c>s are answered <c>TOO_MANY_ATTEMPTS</c> without their secret or token being
/// compared, so waiting cannot be skipped by trying from several connections. A source with no failure for
/// <see cref="ForgetAfter"/> starts afresh. Bounded: at most <c>capacity</c> sources are tracked, the one failed least
/// recently forgotten first. Routing thread only; time from a <see cref="TimeProvider"/>, so that tests drive it.
/// </summary>
internal sealed class GuessLimiter(TimeProvider time, int failuresBeforeBlock, TimeSpan block, int capacity = 100_000)
{
    /// <summary>Failures from a source that cost it no wait.</summary>
    public const int FreeFailures = 5;

    /// <summary>The wait after the first failure past the free ones.</summary>
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between two attempts, short of a block.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    /// <summary>How long a source must have no failure to start afresh (and to be forgotten).</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    private readonly Dictionary<IPAddress, Source> _sources = [];
    private readonly LinkedList<IPAddress> _byLastFailure = new();

    /// <summary>Sources tracked now.</summary>
    public int Count => _sources.Count;

    /// <summary>
    /// Whether <paramref name="address"/> may make an attempt now; when not, how long until it may and whether it is
    /// blocked (past <c>failuresBeforeBlock</c>) rather than waiting.
    /// </summary>
    public bool MayAttempt(IPAddress address, out TimeSpan retryAfter, out bool blocked)
    {
        retryAfter = TimeSpan.Zero;
        blocked = false;
        if (failuresBeforeBlock == 0 || !_sources.TryGetValue(address, out var source))
        {
            return true;
        }

        var now = time.GetUtcNow();
        if (now - source.LastFailure >= ForgetAfter && now >= source.NotBefore)
        {
            Forget(address, source);
            return true;
        }

        if (now >= source.NotBefore)
        {
            return true;
        }

        retryAfter = source.NotBefore - now;
        blocked = source.Failures >= failuresBeforeBlock;
        return false;
    }

    /// <summary>Counts a failed attempt from <paramref name="address"/>; true when it has just been blocked.</summary>
    public bool Failed(IPAddress address)
    {
        if (failuresBeforeBlock == 0)
        {
            return false; // not limited
        }

        var now = time.GetUtcNow();
        if (_sources.TryGetValue(address, out var source))
        {
            if (now - source.LastFailure >= ForgetAfter)
            {
                source.Failures = 0;
            }

            _byLastFailure.Remove(source.Node);
            _byLastFailure.AddLast(source.Node);
        }
        else
        {
            if (_sources.Count >= capacity && _byLastFailure.First is { } oldest)
            {
                Forget(oldest.Value, _sources[oldest.Value]);
            }

            source = new Source(_byLastFailure.AddLast(address));
            _sources.Add(address, source);
        }

        source.Failures++;
        source.LastFailure = now;
        var justBlocked = source.Failures == failuresBeforeBlock;
        source.NotBefore = now + (source.Failures >= failuresBeforeBlock ? block : Delay(source.Failures));
        return justBlocked;
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failure, short of a block.</summary>
    internal static TimeSpan Delay(int failures) => failures <= FreeFailures
        ? TimeSpan.Zero
        : TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << Math.Min(failures - FreeFailures - 1, 20)));

    private void Forget(IPAddress address, Source source)
    {
        _sources.Remove(address);
        _byLastFailure.Remove(source.Node);
    }

    private sealed class Source(LinkedListNode<IPAddress> node)
    {
        public LinkedListNode<IPAddress> Node { get; } = node;

        public int Failures { get; set; }

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset NotBefore { get; set; }
    }
}
