using Serilog;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The readiness gate (PROTOCOL.md §12.8, "Readiness"): a transmitter started with seeds welcomes no cell, and so accepts
/// no publish, until it holds the cell directory of every live member it knows — each member's snapshot, which carries its
/// cells and their subscriptions — so that an event published through it reaches the mesh's cells from the first one
/// (the lost publishes of nats-server#439). A mesh that cannot be reached does not keep it closed for ever: after
/// <see cref="MeshOptions.ReadinessTimeout"/> it serves with what it holds, and says so. Once open, the gate stays open.
/// Routing thread.
/// </summary>
internal sealed class Readiness
{
    private readonly Membership _membership;
    private readonly CellReplica _cells;
    private readonly StallAwareClock _clock;
    private readonly ILogger _log;
    private readonly long _startedAt;
    private readonly long _timeoutTicks;
    private readonly TimeSpan _timeout;
    private volatile bool _ready;

    /// <summary>A gate for a transmitter given seeds (<paramref name="seeded"/>): without them it is a mesh of one, ready at once.</summary>
    public Readiness(Membership membership, CellReplica cells, StallAwareClock clock, MeshOptions options, bool seeded, ILogger log)
    {
        _membership = membership;
        _cells = cells;
        _clock = clock;
        _log = log;
        _timeout = options.ReadinessTimeout;
        _timeoutTicks = clock.TicksOf(options.ReadinessTimeout);
        _startedAt = clock.Now;
        _ready = !seeded || options.ReadinessTimeout <= TimeSpan.Zero;
    }

    /// <summary>Any thread: true once the gate opened.</summary>
    public bool IsOpen => _ready;

    /// <summary>Null when ready (opening the gate if it may open now); otherwise why not, for the <c>NOT_READY</c> refusal.</summary>
    public string? Check()
    {
        if (_ready)
        {
            return null;
        }

        var live = _membership.Members.Where(m => m.State is PeerState.Alive or PeerState.Suspect).ToList();
        var missing = live.Where(m => !_cells.HasSnapshotOf(m.Id)).ToList();
        if (live.Count > 0 && missing.Count == 0)
        {
            _ready = true;
            _log.Information("Ready: holds the cell directories of its {Members} members after {Elapsed} ms", live.Count, Elapsed());
            return null;
        }

        if (_clock.Now - _startedAt >= _timeoutTicks)
        {
            _ready = true;
            _log.Warning(live.Count == 0
                ? "Serving without a mesh: no seed answered within {Timeout} ms (MeshOptions.ReadinessTimeout, --readiness-timeout-ms); cells of transmitters that join later are learned as they come"
                : "Serving after {Timeout} ms (MeshOptions.ReadinessTimeout, --readiness-timeout-ms) without the cell directory of {Missing}: events published meanwhile may miss their cells",
                (long)_timeout.TotalMilliseconds, string.Join(", ", missing.Select(m => m.Id)));
            return null;
        }

        return live.Count == 0
            ? $"the transmitter is joining its mesh and has not yet heard from a seed (it serves alone after {(long)_timeout.TotalMilliseconds} ms); retry, here or at another transmitter"
            : $"the transmitter is joining its mesh and does not yet hold the cell directory of {missing.Count} of its {live.Count} members; retry, here or at another transmitter";
    }

    private long Elapsed() => (long)_clock.SpanOf(_clock.Now - _startedAt).TotalMilliseconds;
}
