using Serilog;

namespace Thynapse.Transmitter.Diagnostics;

/// <summary>Kinds of warnings caused by cells, each limited on its own (<see cref="LogLimiter"/>).</summary>
internal enum WarningKind
{
    /// <summary>A command was refused with <c>ERRR</c>.</summary>
    Refused,

    /// <summary>Deliveries or confirmations for a cell were dropped (full queue, connection gone).</summary>
    Dropped,

    /// <summary>A cell took nothing from its backlog within the grace.</summary>
    SlowCell,

    /// <summary>An anycatch delivery is sent again (nack, ack timeout, its cell gone).</summary>
    Redelivery,

    /// <summary>An event was dead-lettered, or a dead letter dropped.</summary>
    DeadLetter,

    /// <summary>A session ended without GBYE (silent, stuck).</summary>
    SessionLost,

    /// <summary>A connection was refused (past the connection limit, or it could not be accepted).</summary>
    ConnectionRefused,

    /// <summary>A <c>HELO</c> was refused for its secret (or a re-claim of a departed THID without its token).</summary>
    AuthenticationFailed,

    /// <summary>A connection was closed for saying nothing within the handshake timeout.</summary>
    HandshakeTimeout,

    /// <summary>A peer transmitter was suspected or declared dead.</summary>
    PeerSuspected,

    /// <summary>A seed or a lost peer did not answer (retried forever), or could not be connected to.</summary>
    PeerUnreachable,

    /// <summary>Messages of a peer's stream were lost (a sequence gap).</summary>
    PeerStreamGap,

    /// <summary>A peer refused a mesh request, or sent a malformed mesh message.</summary>
    PeerRefused,
}

/// <summary>
/// Caps warnings caused by peers per kind and per <see cref="Window"/>, so that a hostile or broken cell cannot flood
/// the log and one kind cannot silence another; what was held back is summarised once the window is over (at the
/// next warning of the kind or the next tick, whichever comes first). Counters still count everything.
/// </summary>
/// <remarks>
/// Measured before (issue 15, findings 6 and 14): one limiter of 20 warnings per 100 ms tick let 726 "Redelivering"
/// warnings through in one run, and while input was held the ticks, and with them the summaries, stopped.
/// </remarks>
internal sealed class LogLimiter(ILogger log, Func<long> now, long frequency, int perWindow = 10, TimeSpan? window = null)
{
    private static readonly string[] Names = ["refusals", "dropped-delivery", "slow-cell", "redelivery", "dead-letter", "lost-session", "refused-connection", "handshake-timeout", "peer-suspected", "peer-unreachable", "peer-stream-gap", "peer-refused"];
    private readonly long _windowTicks = (long)((window ?? TimeSpan.FromSeconds(10)).TotalSeconds * frequency);
    private readonly int[] _used = new int[Names.Length];
    private readonly long[] _suppressed = new long[Names.Length];
    private readonly long[] _windowStart = new long[Names.Length];

    /// <summary>The window each kind's budget is counted over (default: 10 s).</summary>
    public TimeSpan Window => TimeSpan.FromSeconds((double)_windowTicks / frequency);

    /// <summary>True when a warning of <paramref name="kind"/> may be logged now.</summary>
    public bool Allow(WarningKind kind)
    {
        var k = (int)kind;
        var t = now();
        if (t - _windowStart[k] >= _windowTicks)
        {
            Summarise(k);
            _windowStart[k] = t;
        }

        if (_used[k] < perWindow)
        {
            _used[k]++;
            return true;
        }

        _suppressed[k]++;
        return false;
    }

    /// <summary>Summarises every kind whose window is over (called from the routing thread's timer).</summary>
    public void Tick()
    {
        var t = now();
        for (var k = 0; k < Names.Length; k++)
        {
            if (_suppressed[k] > 0 && t - _windowStart[k] >= _windowTicks)
            {
                Summarise(k);
                _windowStart[k] = t;
            }
        }
    }

    private void Summarise(int k)
    {
        if (_suppressed[k] > 0)
        {
            log.Warning("{Suppressed} further {WarningKind} warnings in the last {Window} were not logged (at most {PerWindow} per kind)",
                _suppressed[k], Names[k], Window, perWindow);
        }

        _used[k] = 0;
        _suppressed[k] = 0;
    }
}
