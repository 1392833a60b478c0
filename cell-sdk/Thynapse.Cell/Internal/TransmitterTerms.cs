using Newtonsoft.Json.Linq;
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
    /// <summary>Before any welcome: the defaults of PROTOCOL.md §5.2 and §8.1.</summary>
    public static readonly TransmitterTerms Initial = new(Thid.Empty, null, 1000, 5000, 1024 * 1024);

    /// <summary>The terms of <paramref name="welcome"/>; what it leaves out stays as it was.</summary>
    public TransmitterTerms Welcomed(Thid id, JObject welcome)
    {
        var heartbeat = Math.Max(10, welcome.Value<long?>("heartbeat") ?? HeartbeatMs);
        return new TransmitterTerms(
            id,
            welcome.Value<string>("pub"),
            heartbeat,
            Math.Max(heartbeat * 2, welcome.Value<long?>("liveness") ?? LivenessMs),
            welcome["limits"]?.Value<int?>("frame") ?? MaxFrameBytes);
    }
}
