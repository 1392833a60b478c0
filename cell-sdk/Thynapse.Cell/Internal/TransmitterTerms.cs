using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// What the transmitter that welcomed the cell last said about itself and the session (<c>WLCM</c>, PROTOCOL.md §5.2):
/// an immutable snapshot, swapped whole at each welcome, so any thread reads a consistent one.
/// </summary>
/// <param name="Id">The transmitter's THID (empty before the first welcome).</param>
/// <param name="Events">Its event (PUB) endpoint.</param>
/// <param name="HeartbeatMs">How often the cell must send something.</param>
/// <param name="LivenessMs">Silence after which either side considers the other gone.</param>
/// <param name="MaxFrameBytes">The largest frame it accepts.</param>
internal sealed record TransmitterTerms(Thid Id, string? Events, long HeartbeatMs, long LivenessMs, int MaxFrameBytes)
{
    /// <summary>The shortest heartbeat the cell keeps, whatever the transmitter says (its timer ticks every heartbeat).</summary>
    private const long MinHeartbeatMs = 10;

    /// <summary>Before any welcome: the defaults of PROTOCOL.md §5.2 and §8.1.</summary>
    public static readonly TransmitterTerms Initial = new(Thid.Empty, null, ProtocolDefaults.HeartbeatMs, ProtocolDefaults.LivenessMs, ProtocolDefaults.MaxFrameBytes);

    /// <summary>
    /// The terms of <paramref name="welcome"/>: the heartbeat at least <see cref="MinHeartbeatMs"/>, liveness at least
    /// two heartbeats; limits it left out read as the protocol's defaults (<see cref="WelcomeLimits.Default"/>).
    /// </summary>
    public static TransmitterTerms Of(WelcomeMessage welcome)
    {
        ArgumentNullException.ThrowIfNull(welcome);
        var heartbeat = Math.Max(MinHeartbeatMs, welcome.Heartbeat);
        return new TransmitterTerms(welcome.Id, welcome.Pub, heartbeat, Math.Max(heartbeat * 2, welcome.Liveness), welcome.Limits.Frame);
    }
}
