using Serilog;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// What the mesh's socket owners (<see cref="PeerLinks"/>, <see cref="CommandLinks"/>, <see cref="PeerSubscriber"/>)
/// share to report: one logger, one rate limit for their warnings, the malformed-message counter, and the guard that
/// keeps a failing handler from stopping the routing thread. Routing thread only.
/// </summary>
internal sealed class MeshLog(ILogger log, StallAwareClock clock, TransmitterCounters counters)
{
    public ILogger Log { get; } = log;

    public LogLimiter Warnings { get; } = new(log, () => clock.Now, clock.Frequency);

    /// <summary>Counts (<c>thynapse.mesh.malformed</c>) and logs, rate-limited, a mesh message that could not be read.</summary>
    public void Malformed(string where, string reason)
    {
        TransmitterCounters.Increment(ref counters.MeshMalformed);
        if (Warnings.Allow(WarningKind.PeerRefused))
        {
            Log.Warning("Ignored a malformed mesh message on {Where}: {Reason}", where, reason);
        }
    }

    /// <summary>Runs a socket's or timer's handler: what it throws is logged, and the transmitter goes on.</summary>
    public void Guarded(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            Log.Error(ex, "Failed at {Work}; the transmitter goes on", what);
        }
    }
}
