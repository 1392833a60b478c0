using Serilog;
using Thynapse.Core;

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
/// Caps warnings caused by peers per <see cref="WarningKind"/> and per window (10 a kind per 10 s unless told), with
/// Core's <see cref="RateLimitedLog"/>: what was held back is summarised once the window is over, at the next warning
/// of the kind or the next tick, whichever comes first. Counters still count everything.
/// </summary>
internal sealed class LogLimiter(ILogger log, Func<long> now, long frequency, int perWindow = 10, TimeSpan? window = null)
    : RateLimitedLog(log, now, frequency, Names, perWindow, window)
{
    private static readonly string[] Names = ["refusals", "dropped-delivery", "slow-cell", "redelivery", "dead-letter", "lost-session", "refused-connection", "authentication-failed", "handshake-timeout", "peer-suspected", "peer-unreachable", "peer-stream-gap", "peer-refused"];

    /// <summary>True when a warning of <paramref name="kind"/> may be logged now.</summary>
    public bool Allow(WarningKind kind) => Allow((int)kind);
}
