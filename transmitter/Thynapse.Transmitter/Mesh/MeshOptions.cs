using System.Globalization;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Timing of the transmitter mesh: pulses, SWIM probes, Lifeguard suspicion, retries (PROTOCOL.md §12.7). The defaults
/// declare a transmitter killed with SIGKILL dead in about 2.5 s and never one that stops for less than 2 s.
/// </summary>
/// <remarks>
/// How the defaults add up, for a transmitter that dies just after its last pulse: it is silent for
/// <see cref="ProbeInterval"/> (0.5 s) before a probe is sent at once (the next mesh tick, 50 ms); the probe fails at the
/// end of its interval (0.5 s, having asked <see cref="IndirectProbes"/> others to try after <see cref="ProbeTimeout"/>);
/// the suspicion lasts <see cref="SuspicionMultiplier"/> × max(1, log10 n) probe intervals (1.5 s below ten members):
/// about 2.5 s in all, within the 4 s the mesh promises on a loaded machine. A member that stops (SIGSTOP, a GC pause, a
/// starved CPU) is declared dead only when it stays stopped for the whole of it: a stop shorter than the probe interval
/// plus the suspicion (2 s) ends with a refutation, never a death. These are memberlist's LAN figures (probe 1 s, timeout
/// 500 ms, 3 indirect probes, suspicion ×4) tightened for a mesh whose members also pulse every 200 ms: silence is seen
/// from the pulses, so probing a silent member early costs nothing when all is well.
/// </remarks>
public sealed record MeshOptions
{
    /// <summary>The defaults.</summary>
    public static MeshOptions Default { get; } = new();

    /// <summary>
    /// How often a transmitter publishes a pulse (<c>PULS</c>) on its event socket: the heartbeat of its streams, which
    /// shows silence and a lost tail (default: 200 ms).
    /// </summary>
    public TimeSpan PulseInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How often a member is probed in turn (SWIM's protocol period), and how long a member may be silent before it is
    /// probed out of turn (default: 500 ms; both lengthen while this transmitter is itself unhealthy).
    /// </summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a direct probe waits for its answer before others are asked to probe (default: 200 ms).</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Members asked to probe a member that did not answer a direct probe (default: 3).</summary>
    public int IndirectProbes { get; init; } = 3;

    /// <summary>
    /// The shortest suspicion lasts this many probe intervals times max(1, log10 n) for a mesh of n members (default: 3:
    /// 1.5 s below ten members).
    /// </summary>
    public int SuspicionMultiplier { get; init; } = 3;

    /// <summary>
    /// A suspicion that nobody else confirms lasts this many times the shortest (default: 3); it shrinks towards the
    /// shortest as members confirm it (Lifeguard). Meshes of fewer than <see cref="SuspicionMultiplier"/> + 1 members
    /// expect no confirmations and use the shortest.
    /// </summary>
    public int SuspicionMaxMultiplier { get; init; } = 3;

    /// <summary>
    /// The highest local health score (default: 8): while this transmitter misses answers it should have had, is suspected
    /// itself or its routing thread stalls, its probe intervals, probe timeouts and suspicions last up to this many times
    /// longer (Lifeguard's local health multiplier), so that a starved transmitter slows its own verdicts.
    /// </summary>
    public int MaxLocalHealth { get; init; } = 8;

    /// <summary>How often the membership is exchanged whole with one random member (anti-entropy; default: 10 s).</summary>
    public TimeSpan PushPullInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a join (to a seed or a lost member) waits for its answer before the attempt is abandoned and retried
    /// (default: 1 s).
    /// </summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The first pause before a seed or a lost member is tried again (default: 250 ms); it doubles per failure.</summary>
    public TimeSpan RetryMin { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest pause between attempts to reach a seed or a lost member, which are retried forever (default: 5 s); each
    /// pause is drawn within ±25% of its nominal length, so that restarted meshes do not retry in step.
    /// </summary>
    public TimeSpan RetryMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a replica keeps a down cell's tombstone (default: 60 s): a record of the cell older than the tombstone
    /// that arrives within this time (reordered, or relayed late) does not bring the cell back.
    /// </summary>
    public TimeSpan CellTombstoneTime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Bytes of forwarded events each forward stream keeps for resends (default: 32 MiB, at most 65,536 messages): a gap
    /// the receiver asks about within this much later traffic is repaired; past it the loss is counted and reported
    /// (PROTOCOL.md §12.11).
    /// </summary>
    public int ForwardBufferBytes { get; init; } = 32 << 20;

    /// <summary>
    /// The readiness gate (PROTOCOL.md §12.8, "Readiness"): a transmitter given seeds refuses cells with <c>NOT_READY</c>
    /// until it holds the cell directory of every live member it knows, or until this long after it started (default:
    /// 2 s; zero: no gate), after which it serves with what it holds — a transmitter whose seeds are all down must not
    /// stay closed for ever.
    /// </summary>
    public TimeSpan ReadinessTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The secret the transmitters of a mesh share (<c>--cluster-secret</c>), distinct from the cells' secret; at least
    /// 16 characters. With it, a peer must prove it on its command link before any mesh request is served, the answer
    /// proves it back, and the event socket is a CURVE server whose key pair is derived from it, so that only holders of
    /// the secret can read the mesh's streams (PROTOCOL.md §12.12). Null (the default): any transmitter that speaks the
    /// mesh protocol may join, and anyone who can reach the event socket may read it.
    /// </summary>
    public string? ClusterSecret { get; init; }

    /// <summary>The keys derived from <see cref="ClusterSecret"/>, or null without one (after validation).</summary>
    internal ClusterKey? CreateClusterKey() => ClusterSecret is { } secret ? new ClusterKey(secret) : null;

    /// <summary>The first rule the options break, as a message naming the property, or null.</summary>
    internal string? FindProblem(string prefix)
    {
        string P(string name) => $"{prefix}{name}";
        return PulseInterval < TimeSpan.FromMilliseconds(10) ? $"{P(nameof(PulseInterval))} must be at least 10 ms; got {Ms(PulseInterval)}."
            : ProbeInterval < TimeSpan.FromMilliseconds(10) ? $"{P(nameof(ProbeInterval))} must be at least 10 ms; got {Ms(ProbeInterval)}."
            : ProbeTimeout <= TimeSpan.Zero || ProbeTimeout >= ProbeInterval ? $"{P(nameof(ProbeTimeout))} must be greater than 0 ms and less than {P(nameof(ProbeInterval))} ({Ms(ProbeInterval)}); got {Ms(ProbeTimeout)}."
            : IndirectProbes is < 0 or > 16 ? $"{P(nameof(IndirectProbes))} must be from 0 to 16; got {IndirectProbes}."
            : SuspicionMultiplier is < 1 or > 100 ? $"{P(nameof(SuspicionMultiplier))} must be from 1 to 100; got {SuspicionMultiplier}."
            : SuspicionMaxMultiplier is < 1 or > 100 ? $"{P(nameof(SuspicionMaxMultiplier))} must be from 1 to 100; got {SuspicionMaxMultiplier}."
            : MaxLocalHealth is < 1 or > 100 ? $"{P(nameof(MaxLocalHealth))} must be from 1 to 100; got {MaxLocalHealth}."
            : PushPullInterval < TimeSpan.FromMilliseconds(100) ? $"{P(nameof(PushPullInterval))} must be at least 100 ms; got {Ms(PushPullInterval)}."
            : JoinTimeout < TimeSpan.FromMilliseconds(10) ? $"{P(nameof(JoinTimeout))} must be at least 10 ms; got {Ms(JoinTimeout)}."
            : RetryMin < TimeSpan.FromMilliseconds(10) ? $"{P(nameof(RetryMin))} must be at least 10 ms; got {Ms(RetryMin)}."
            : RetryMax < RetryMin ? $"{P(nameof(RetryMax))} must be at least {P(nameof(RetryMin))} ({Ms(RetryMin)}); got {Ms(RetryMax)}."
            : CellTombstoneTime < TimeSpan.FromSeconds(1) ? $"{P(nameof(CellTombstoneTime))} must be at least 1000 ms; got {Ms(CellTombstoneTime)}."
            : ForwardBufferBytes < 65_536 ? $"{P(nameof(ForwardBufferBytes))} must be at least 65536; got {ForwardBufferBytes}."
            : ReadinessTimeout < TimeSpan.Zero || ReadinessTimeout > TimeSpan.FromMinutes(10) ? $"{P(nameof(ReadinessTimeout))} must be from 0 to 600000 ms; got {Ms(ReadinessTimeout)}."
            : ClusterSecret is not null ? TransmitterOptions.SecretProblem(ClusterSecret, P(nameof(ClusterSecret)))
            : null;
    }

    /// <summary>The mesh's own timer: fine enough for the probe timeout, at most every 50 ms.</summary>
    internal TimeSpan TickInterval => TimeSpan.FromTicks(Math.Clamp(Math.Min(ProbeTimeout.Ticks, PulseInterval.Ticks) / 4, TimeSpan.FromMilliseconds(5).Ticks, TimeSpan.FromMilliseconds(50).Ticks));

    private static string Ms(TimeSpan duration) => $"{duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)} ms";
}
