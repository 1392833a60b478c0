using System.Globalization;
using Serilog;
using Thynapse.Core;
using Thynapse.Transmitter.Mesh;

namespace Thynapse.Transmitter;

/// <summary>How a transmitter binds, times and limits (PROTOCOL.md §8). Tune with <c>with { … }</c>.</summary>
public sealed record TransmitterOptions
{
    /// <summary>The defaults: ports 4710 and 4711 on every interface.</summary>
    public static TransmitterOptions Default { get; } = new();

    /// <summary>The ROUTER endpoint cells connect to (default: <c>tcp://*:4710</c>; a port of <c>*</c> or 0 picks a free one).</summary>
    public string CommandEndpoint { get; init; } = "tcp://*:4710";

    /// <summary>The PUB endpoint (default: <c>tcp://*:4711</c>).</summary>
    public string EventsEndpoint { get; init; } = "tcp://*:4711";

    /// <summary>
    /// The host put in the addresses the transmitter hands out (<c>WLCM.pub</c>) when it binds a wildcard host
    /// (default: null, meaning the first non-loopback IPv4 address, else 127.0.0.1).
    /// </summary>
    public string? AdvertiseHost { get; init; }

    /// <summary>The transmitter's THID (default: a new random one).</summary>
    public Thid? Id { get; init; }

    /// <summary>
    /// Seeds of the mesh: command endpoints (<c>tcp://host:port</c>) of other transmitters (default: none). One live seed
    /// is enough: a transmitter learns every member from it and links to each (a full mesh). A host name that resolves to
    /// several addresses (a Kubernetes headless service) gives one seed per address. Seeds that do not answer are
    /// retried forever, with backoff and jitter (PROTOCOL.md §12). A transmitter without seeds still accepts peers that
    /// name it as theirs.
    /// </summary>
    public IReadOnlyList<string> Peers { get; init; } = [];

    /// <summary>Timing of the mesh: probes, suspicion, retries (default: <see cref="MeshOptions.Default"/>).</summary>
    public MeshOptions Mesh { get; init; } = MeshOptions.Default;

    /// <summary>
    /// The secret every cell must present in <c>HELO.secret</c> to join (default: null: cells join without one). A cell
    /// without it, or with another, is refused with <c>AUTHENTICATION_FAILED</c> and learns nothing else (PROTOCOL.md
    /// §5.1). Compared in constant time. It travels in clear text unless CURVE is on: keep both on an untrusted network.
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>
    /// Per-service credentials (default: none): a cell presenting one of these secrets may join only as the services it
    /// names. With credentials and no <see cref="Secret"/>, every cell needs a credential.
    /// </summary>
    public IReadOnlyList<CellCredential> Credentials { get; init; } = [];

    /// <summary>
    /// The transmitter's CURVE secret key, Z85 (40 characters; <c>thynapse-transmitter keygen</c> makes a pair) (default:
    /// null: no CURVE). With it both sockets require CURVE (PROTOCOL.md §1): a cell must know the matching public key
    /// (<c>CellOptions.TransmitterPublicKey</c>), its traffic is encrypted, and a plain-text client gets no answer.
    /// CURVE authenticates the transmitter to cells, not cells to it: any client with the public key can connect, so keep
    /// <see cref="Secret"/> too. Transmitters of a mesh with CURVE share one key pair.
    /// </summary>
    public string? CurveSecretKey { get; init; }

    /// <summary>
    /// The cells' CURVE public keys allowed to join, Z85 (default: none: any cell that has the transmitter's public key).
    /// Requires <see cref="CurveSecretKey"/>. With a list, a <c>HELO</c> must carry a <c>key</c> proof (the SDK sends one
    /// when <c>CellOptions.CurvePublicKey</c> and <c>CurveSecretKey</c> are set) for a listed key, or it is refused with
    /// <c>KEY_NOT_ALLOWED</c> and counted as a failed attempt (PROTOCOL.md §5.1).
    /// </summary>
    public IReadOnlyList<string> AllowedCellKeys { get; init; } = [];

    /// <summary>The certificate of <see cref="CurveSecretKey"/>, or null without CURVE (after <see cref="Validate"/>).</summary>
    internal NetMQ.NetMQCertificate? CurveCertificate => CurveSecretKey is { } key ? NetMQ.NetMQCertificate.CreateFromSecretKey(key) : null;

    /// <summary>How often cells must send something, told to them in <c>WLCM</c> (default: 1 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A cell silent for this long is dead: its subscriptions are dropped (default: 5 s).</summary>
    public TimeSpan LivenessTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest frame accepted; larger ones get <c>FRAME_TOO_LARGE</c> (default: 1 MiB).</summary>
    public int MaxFrameBytes { get; init; } = 1024 * 1024;

    /// <summary>The largest <c>J</c> header frame accepted; larger ones get <c>HEADER_TOO_LARGE</c> (default: 64 KiB).</summary>
    public int MaxHeaderBytes { get; init; } = 64 * 1024;

    /// <summary>Subscriptions one cell may hold (default: 10,000).</summary>
    public int MaxSubscriptionsPerCell { get; init; } = 10_000;

    /// <summary>
    /// Frames queued towards one cell in its ZeroMQ queue (default: 256 frames; a frame can batch many events); past
    /// them, frames wait in the cell's backlog at the transmitter (<see cref="MaxCellBacklogBytes"/>). A transmitter learns that the queue has room again only each time
    /// half of it has drained (NetMQ's low-water mark), so a shorter queue shows a cell's progress sooner (PROTOCOL.md §8.2).
    /// </summary>
    public int CellQueueFrames { get; init; } = 256;

    /// <summary>
    /// Frames read ahead from each connection before TCP pushes back on its cell (default: 64; under load a frame
    /// batches many events). Kept short so that the transmitter buffers little for any one connection and TCP pushes
    /// back on a sender it cannot keep up with (PROTOCOL.md §8.2); measured here, 8 cost a third of a single
    /// publisher's rate.
    /// </summary>
    public int ReadAheadFrames { get; init; } = 64;

    /// <summary>The grace when <see cref="FullQueueGrace"/> is not set (then a quarter of <see cref="LivenessTimeout"/> if that is shorter).</summary>
    public static readonly TimeSpan DefaultFullQueueGrace = TimeSpan.FromMilliseconds(500);

    private readonly TimeSpan? _fullQueueGrace;

    /// <summary>
    /// How long a cell whose queue is full may take nothing from its backlog at the transmitter before it is judged slow
    /// and the backlog is dropped (default: <see cref="DefaultFullQueueGrace"/>, 500 ms, or a quarter of
    /// <see cref="LivenessTimeout"/> if shorter; zero drops at once; at most a quarter of the liveness timeout). Usually
    /// a queue is full because the connection is short of I/O turns or the cell of CPU, not because the cell is slow
    /// (PROTOCOL.md §8.2).
    /// </summary>
    public TimeSpan FullQueueGrace
    {
        get => _fullQueueGrace ?? TimeSpan.FromTicks(Math.Min(DefaultFullQueueGrace.Ticks, LivenessTimeout.Ticks / 4));
        init => _fullQueueGrace = value;
    }

    /// <summary>
    /// Bytes one cell's backlog at the transmitter may hold behind its full queue (default: 16 MiB). Past this, what
    /// comes for the cell is dropped, counted and told with <c>SLOW</c>, even while the backlog drains (PROTOCOL.md §8.2).
    /// </summary>
    public long MaxCellBacklogBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// The publishing credit the transmitter shares among the cells that publish with credit (default: 8 MiB): each
    /// one's window is this divided by their number, between 64 KiB and 4 MiB. It bounds how much the paused publishers
    /// of one cell with a backlog can still add to it, so it is kept well below <see cref="MaxCellBacklogBytes"/>:
    /// measured with 100 publishers towards one cell, windows that added up to more than the backlog's bound made it
    /// overflow at every pause (PROTOCOL.md §8.4).
    /// </summary>
    public long PublishCreditBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// How long a cell that ended without a goodbye (silent, not reading, disconnected) is remembered, so that it is told
    /// on re-joining what it missed meanwhile (default: 5 minutes; zero: not at all; PROTOCOL.md §5.2).
    /// </summary>
    public TimeSpan DepartedCellMemory { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long after a session ends without a goodbye its THID stays reserved for its cell: a <c>HELO</c> with that THID
    /// and without the session's resume token is refused with <c>ID_RESERVED</c> (default: 1 minute; zero: not
    /// reserved; in effect never longer than <see cref="DepartedCellMemory"/>: only a remembered session holds its THID). THIDs are not secrets (<c>LIST</c> shows them), resume
    /// tokens are: this keeps a stranger from taking over a cell that paused or lost its connection. A restarted cell that
    /// keeps its THID but not its token waits this long, or joins with a new THID (PROTOCOL.md §4.4).
    /// </summary>
    public TimeSpan IdReservation { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Failed <c>HELO</c>s (wrong secret, a THID claimed without its token) from one source address before it is refused
    /// outright for <see cref="FailedAttemptBlock"/> (default: 20; 0: failures are not limited). The first 5 cost nothing; each one after them makes
    /// the source wait, from 100 ms doubling up to 10 s, before its next attempt is looked at (PROTOCOL.md §5.1).
    /// </summary>
    public int MaxFailedAttempts { get; init; } = 20;

    /// <summary>How long a source past <see cref="MaxFailedAttempts"/> is refused (default: 5 minutes).</summary>
    public TimeSpan FailedAttemptBlock { get; init; } = TimeSpan.FromMinutes(5);

    private readonly int? _maxConnections;

    /// <summary>
    /// Connections the command socket accepts at once; past this a new one is refused at once, counted and logged
    /// (default: the process's file descriptor limit less 256, so that accepting never runs out of descriptors).
    /// </summary>
    public int MaxConnections
    {
        get => _maxConnections ?? Wire.FileDescriptors.DefaultMaxConnections;
        init => _maxConnections = value;
    }

    /// <summary>
    /// Connections the command socket accepts at once from one source address; past this a new one from that address is
    /// closed at once (before any ZeroMQ handshake, so without an <c>ERRR</c>), counted in
    /// <see cref="TransmitterStats.ConnectionsRefusedPerAddress"/> and logged (default: 1,024).
    /// </summary>
    public int MaxConnectionsPerAddress { get; init; } = 1024;

    /// <summary>
    /// Events one cell may publish a second, in bursts of up to as many; past it each event is refused with
    /// <c>RATE_LIMITED</c> (208), counted and not routed, other cells unaffected (default: 0, no limit). A guard against a
    /// runaway publisher; a cell that wants to be paced instead asks for credit (PROTOCOL.md §8.4).
    /// </summary>
    public int MaxPublishRate { get; init; }

    /// <summary>
    /// How long a connection may go without a session: one that has sent no more than a ZeroMQ handshake (120 bytes;
    /// Linux only, where the kernel tells what a connection received) this long after connecting, or that has talked
    /// this long since its first frame without a valid <c>HELO</c> (junk, refused <c>HELO</c>s), is closed
    /// (default: 10 s; zero: never).
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Departed cells remembered at most (default: 10,000; the oldest are forgotten first).</summary>
    public int MaxDepartedCells { get; init; } = 10_000;

    /// <summary>
    /// Multicatch subscriptions departed cells keep in the route table at most, all together (default: 100,000; the
    /// oldest cells are forgotten first). Each still costs a match for every event on its pattern.
    /// </summary>
    public int MaxDepartedSubscriptions { get; init; } = 100_000;

    /// <summary>
    /// How often the routing thread runs its periodic checks: liveness, ack deadlines, SLOW retries (the heartbeat, a
    /// quarter of the liveness timeout or 100 ms, whichever is shortest).
    /// </summary>
    internal TimeSpan TickInterval => TimeSpan.FromTicks(Math.Min(Math.Min(HeartbeatInterval.Ticks, LivenessTimeout.Ticks / 4), TimeSpan.FromMilliseconds(100).Ticks));

    /// <summary>
    /// The longest gap between two readings of the routing clock that counts in full (two check intervals): a longer
    /// one means the routing thread was not running, and is not counted against the cells (<see cref="Core.Internal.StallAwareClock"/>).
    /// </summary>
    internal TimeSpan MaxClockStep => TickInterval * 2;

    /// <summary>Bytes of deliveries batched into one frame for a cell under load (default: 32 KiB, so that frames stay below the large-object heap when pooled).</summary>
    public int BatchBytes { get; init; } = 32 * 1024;

    /// <summary>Unacknowledged deliveries an acknowledging anycatch subscription may hold when it names no prefetch (default: 64).</summary>
    public int DefaultPrefetch { get; init; } = 64;

    /// <summary>How long a delivery may stay unacknowledged when the subscription names no timeout (default: 30 s).</summary>
    public TimeSpan DefaultAckTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries of one event to a service before it is dead-lettered, when the subscription names none (default: 5).</summary>
    public int DefaultMaxAttempts { get; init; } = 5;

    /// <summary>
    /// Anycatch events a service may have waiting for a cell with room; past this, new events for it are refused with
    /// <c>QUEUE_FULL</c> (default: 100,000).
    /// </summary>
    public int ServiceQueueLimit { get; init; } = 100_000;

    /// <summary>
    /// The limits the typed messages are read against (PROTOCOL.md §5), from these options: a new object each time
    /// (a cache would travel into copies made with <c>with</c>); engines take it once.
    /// </summary>
    internal MessageLimits MessageLimits => new()
    {
        MaxSubscriptionsPerCell = MaxSubscriptionsPerCell,
        MaxMetadataBytes = MaxMetadataBytes,
        QueryLimits = QueryLimits,
    };

    /// <summary>Limits on metadata queries in targeted events and discovery filters (default: <see cref="QueryLimits.Default"/>).</summary>
    public QueryLimits QueryLimits { get; init; } = QueryLimits.Default;

    /// <summary>The largest metadata a cell may hold, as compact JSON (default: 16 KiB).</summary>
    public int MaxMetadataBytes { get; init; } = 16 * 1024;

    /// <summary>
    /// Cells with a session at once; past this a <c>HELO</c> (one that does not take over its own session) is refused with
    /// <c>TOO_MANY_CELLS</c> (default: 100,000).
    /// </summary>
    public int MaxCells { get; init; } = 100_000;

    /// <summary>Watches one cell may hold (default: 100).</summary>
    public int MaxWatchesPerCell { get; init; } = 100;

    /// <summary>Where the transmitter logs (default: nowhere).</summary>
    public ILogger Logger { get; init; } = Serilog.Core.Logger.None;

    /// <summary>The clock (default: the system clock); tests may pass a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that breaks a rule (see <see cref="FindProblem"/>).</summary>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Logger);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(QueryLimits);
        ArgumentNullException.ThrowIfNull(Peers);
        ArgumentNullException.ThrowIfNull(Mesh);
        ArgumentNullException.ThrowIfNull(Credentials);
        ArgumentNullException.ThrowIfNull(AllowedCellKeys);
        if (FindProblem(SettingNames.Properties) is { } problem)
        {
            throw problem.OutOfRange
                ? new ArgumentOutOfRangeException(problem.Setting, problem.Message)
                : new ArgumentException(problem.Message, problem.Setting);
        }
    }

    /// <summary>
    /// The first setting that breaks a rule: which property, and a message naming it as <paramref name="names"/> says,
    /// with the rule and the value in the units the user wrote (milliseconds for durations).
    /// </summary>
    internal SettingProblem? FindProblem(SettingNames names)
    {
        string Name(string property) => names.Reference(property);
        SettingProblem Range(string property, string rule) => new(property, $"{names.Subject(property)} {rule}.", OutOfRange: true);

        if (!Endpoint.TryValidate(CommandEndpoint, names.Subject(nameof(CommandEndpoint)), bind: true, defaultPort: 4710, out var error))
        {
            return new(nameof(CommandEndpoint), error, OutOfRange: false);
        }

        if (!Endpoint.TryValidate(EventsEndpoint, names.Subject(nameof(EventsEndpoint)), bind: true, defaultPort: 4711, out error))
        {
            return new(nameof(EventsEndpoint), error, OutOfRange: false);
        }

        if (SharedPort(CommandEndpoint, EventsEndpoint) is { } port)
        {
            return new(nameof(EventsEndpoint),
                $"{names.Subject(nameof(EventsEndpoint))} must use another port than {Name(nameof(CommandEndpoint))}; both are {port}.", OutOfRange: false);
        }

        for (var i = 0; i < Peers.Count; i++)
        {
            var subject = names.Subject(nameof(Peers));
            if (!Endpoint.TryValidate(Peers[i], Peers.Count == 1 ? subject : $"{subject} (entry {i + 1})", bind: false, defaultPort: 4710, out error))
            {
                return new(nameof(Peers), error + " A peer is another transmitter's command endpoint.", OutOfRange: false);
            }
        }

        if (Mesh.FindProblem($"{names.Reference(nameof(Mesh))}.") is { } meshProblem)
        {
            return new(nameof(Mesh), meshProblem, OutOfRange: true);
        }

        if (Mesh.ClusterSecret is { } cluster && (cluster == Secret || Credentials.Any(c => c?.Secret == cluster)))
        {
            return new(nameof(Mesh), $"{names.Reference(nameof(Mesh))}.{nameof(MeshOptions.ClusterSecret)} is also a cells' secret: give the mesh its own, or any cell could join the mesh as a transmitter.", OutOfRange: false);
        }

        if (SecretProblem(Secret, names.Subject(nameof(Secret))) is { } secretProblem)
        {
            return new(nameof(Secret), secretProblem, OutOfRange: false);
        }

        if (CurveSecretKey is { } curveKey && !CurveKeys.IsKey(curveKey))
        {
            return new(nameof(CurveSecretKey),
                $"{names.Subject(nameof(CurveSecretKey))} must be a Z85 CURVE secret key, 40 characters; got {curveKey.Length} characters. Make a key pair with 'thynapse-transmitter keygen'.", OutOfRange: false);
        }

        if (AllowedCellKeys.Count > 0 && CurveSecretKey is null)
        {
            return new(nameof(AllowedCellKeys),
                $"{names.Subject(nameof(AllowedCellKeys))} needs {names.Reference(nameof(CurveSecretKey))}: cells prove their keys inside CURVE. Set both, or neither.", OutOfRange: false);
        }

        for (var i = 0; i < AllowedCellKeys.Count; i++)
        {
            if (!CurveKeys.IsKey(AllowedCellKeys[i]))
            {
                return new(nameof(AllowedCellKeys),
                    $"{names.Subject(nameof(AllowedCellKeys))} (entry {i + 1}) must be a Z85 CURVE public key, 40 characters (a cell's CellOptions.CurvePublicKey).", OutOfRange: false);
            }
        }

        for (var i = 0; i < Credentials.Count; i++)
        {
            var subject = $"{names.Subject(nameof(Credentials))} (entry {i + 1})";
            var credential = Credentials[i];
            if (credential is null || SecretProblem(credential.Secret, subject) is { } problem)
            {
                return new(nameof(Credentials), credential is null ? $"{subject} is null." : SecretProblem(credential.Secret, subject)!, OutOfRange: false);
            }

            if (credential.Services is not { Count: > 0 } services)
            {
                return new(nameof(Credentials), $"{subject} must name at least one service it may join as.", OutOfRange: false);
            }

            foreach (var service in services)
            {
                if (!ServiceName.TryValidate(service, out var serviceError))
                {
                    return new(nameof(Credentials), $"{subject} names an invalid service: {serviceError}", OutOfRange: false);
                }
            }

            if (credential.Secret == Secret || Credentials.Take(i).Any(other => other?.Secret == credential.Secret))
            {
                return new(nameof(Credentials), $"{subject} reuses a secret already given; each credential needs its own.", OutOfRange: false);
            }
        }

        if (AdvertiseHost is { } host && (host.Length == 0 || host.Contains("://", StringComparison.Ordinal) || host.Any(char.IsWhiteSpace)))
        {
            return new(nameof(AdvertiseHost),
                $"{names.Subject(nameof(AdvertiseHost))} must be a host name or address (10.0.0.5), not an endpoint; got '{host}'.", OutOfRange: false);
        }

        return HeartbeatInterval <= TimeSpan.Zero ? Range(nameof(HeartbeatInterval), $"must be greater than 0 ms; got {Ms(HeartbeatInterval)}")
            : LivenessTimeout <= HeartbeatInterval ? Range(nameof(LivenessTimeout), $"must be greater than {Name(nameof(HeartbeatInterval))} ({Ms(HeartbeatInterval)}); got {Ms(LivenessTimeout)}")
            : MaxFrameBytes < 1024 ? Range(nameof(MaxFrameBytes), $"must be at least 1024 bytes; got {MaxFrameBytes}")
            : MaxHeaderBytes < 256 ? Range(nameof(MaxHeaderBytes), $"must be at least 256 bytes; got {MaxHeaderBytes}")
            : MaxHeaderBytes > MaxFrameBytes ? Range(nameof(MaxHeaderBytes), $"must be at most {Name(nameof(MaxFrameBytes))} ({MaxFrameBytes} bytes); got {MaxHeaderBytes}")
            : MaxSubscriptionsPerCell < 1 ? Range(nameof(MaxSubscriptionsPerCell), $"must be at least 1; got {MaxSubscriptionsPerCell}")
            : MaxCells < 1 ? Range(nameof(MaxCells), $"must be at least 1; got {MaxCells}")
            : QueryLimits.MaxDepth < 1 ? Range(nameof(QueryLimits), $"{Name(nameof(QueryLimits))}.MaxDepth must be at least 1; got {QueryLimits.MaxDepth}")
            : QueryLimits.MaxNodes < 1 ? Range(nameof(QueryLimits), $"{Name(nameof(QueryLimits))}.MaxNodes must be at least 1; got {QueryLimits.MaxNodes}")
            : MaxMetadataBytes < 2 ? Range(nameof(MaxMetadataBytes), $"must be at least 2 bytes ('{{}}'); got {MaxMetadataBytes}")
            : CellQueueFrames < 1 ? Range(nameof(CellQueueFrames), $"must be at least 1; got {CellQueueFrames}")
            : BatchBytes < 1024 ? Range(nameof(BatchBytes), $"must be at least 1024 bytes; got {BatchBytes}")
            : ReadAheadFrames < 1 ? Range(nameof(ReadAheadFrames), $"must be at least 1; got {ReadAheadFrames}")
            : FullQueueGrace < TimeSpan.Zero ? Range(nameof(FullQueueGrace), $"must be 0 ms or more; got {Ms(FullQueueGrace)}")
            : FullQueueGrace > LivenessTimeout / 4 ? Range(nameof(FullQueueGrace), $"must be at most a quarter of {Name(nameof(LivenessTimeout))} ({Ms(LivenessTimeout / 4)}); got {Ms(FullQueueGrace)}")
            // The defaults a WLCM announces must be values SUBS accepts back (§5.6): the same bounds.
            : DefaultPrefetch is < MessageLimits.MinPrefetch or > MessageLimits.MaxPrefetch ? Range(nameof(DefaultPrefetch), $"must be from {MessageLimits.MinPrefetch} to {MessageLimits.MaxPrefetch}; got {DefaultPrefetch}")
            : DefaultAckTimeout < TimeSpan.FromMilliseconds(MessageLimits.MinAckTimeoutMs) ? Range(nameof(DefaultAckTimeout), $"must be at least {MessageLimits.MinAckTimeoutMs} ms; got {Ms(DefaultAckTimeout)}")
            : DefaultAckTimeout > TimeSpan.FromMilliseconds(MessageLimits.MaxAckTimeoutMs) ? Range(nameof(DefaultAckTimeout), $"must be at most {MessageLimits.MaxAckTimeoutMs} ms (an hour); got {Ms(DefaultAckTimeout)}")
            : DefaultMaxAttempts is < MessageLimits.MinMaxAttempts or > MessageLimits.MaxMaxAttempts ? Range(nameof(DefaultMaxAttempts), $"must be from {MessageLimits.MinMaxAttempts} to {MessageLimits.MaxMaxAttempts}; got {DefaultMaxAttempts}")
            : ServiceQueueLimit < 1 ? Range(nameof(ServiceQueueLimit), $"must be at least 1; got {ServiceQueueLimit}")
            : MaxCellBacklogBytes < BatchBytes ? Range(nameof(MaxCellBacklogBytes), $"must be at least {Name(nameof(BatchBytes))} ({BatchBytes} bytes); got {MaxCellBacklogBytes}")
            : PublishCreditBytes < 64 * 1024 ? Range(nameof(PublishCreditBytes), $"must be at least 65536 bytes; got {PublishCreditBytes}")
            : DepartedCellMemory < TimeSpan.Zero ? Range(nameof(DepartedCellMemory), $"must be 0 ms or more; got {Ms(DepartedCellMemory)}")
            : IdReservation < TimeSpan.Zero ? Range(nameof(IdReservation), $"must be 0 ms or more; got {Ms(IdReservation)}")
            : MaxFailedAttempts is < 0 or (> 0 and <= Sessions.GuessLimiter.FreeFailures) ? Range(nameof(MaxFailedAttempts), $"must be 0 (not limited) or more than {Sessions.GuessLimiter.FreeFailures} (the failures that cost no wait); got {MaxFailedAttempts}")
            : FailedAttemptBlock < TimeSpan.FromSeconds(1) ? Range(nameof(FailedAttemptBlock), $"must be at least 1000 ms; got {Ms(FailedAttemptBlock)}")
            : MaxDepartedCells < 0 ? Range(nameof(MaxDepartedCells), $"must be 0 or more; got {MaxDepartedCells}")
            : MaxDepartedSubscriptions < 0 ? Range(nameof(MaxDepartedSubscriptions), $"must be 0 or more; got {MaxDepartedSubscriptions}")
            : MaxConnections < 1 ? Range(nameof(MaxConnections), $"must be at least 1; got {MaxConnections}")
            : MaxConnectionsPerAddress < 1 ? Range(nameof(MaxConnectionsPerAddress), $"must be at least 1; got {MaxConnectionsPerAddress}")
            : MaxPublishRate < 0 ? Range(nameof(MaxPublishRate), $"must be 0 (no limit) or more; got {MaxPublishRate}")
            : HandshakeTimeout < TimeSpan.Zero ? Range(nameof(HandshakeTimeout), $"must be 0 ms or more; got {Ms(HandshakeTimeout)}")
            : null;
    }

    /// <summary>Secrets are at least 16 characters, with no whitespace at either end (a newline read from a file, usually).</summary>
    internal static string? SecretProblem(string? secret, string subject) =>
        secret is null ? null
        : secret.Length < MinSecretLength ? $"{subject} must be at least {MinSecretLength} characters; got {secret.Length}. Generate one with 'openssl rand -hex 32'."
        : secret.Length > MaxSecretLength ? $"{subject} must be at most {MaxSecretLength} characters; got {secret.Length}."
        : secret.Trim() != secret ? $"{subject} must not begin or end with whitespace."
        : null;

    /// <summary>The shortest secret accepted.</summary>
    internal const int MinSecretLength = 16;

    /// <summary>The longest secret accepted (it travels in every <c>HELO</c>).</summary>
    internal const int MaxSecretLength = 1024;

    private static string Ms(TimeSpan duration) => $"{duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)} ms";

    /// <summary>The port both endpoints bind, when they would collide (the same fixed port on the same or every interface).</summary>
    private static string? SharedPort(string command, string events)
    {
        static (string Host, string Port) Split(string endpoint)
        {
            var colon = endpoint.LastIndexOf(':');
            return (endpoint["tcp://".Length..colon], endpoint[(colon + 1)..]);
        }

        var (commandHost, commandPort) = Split(command);
        var (eventsHost, eventsPort) = Split(events);
        var wildcard = commandHost is "*" or "0.0.0.0" or "[::]" || eventsHost is "*" or "0.0.0.0" or "[::]";
        return commandPort == eventsPort && commandPort is not ("*" or "0") && (wildcard || commandHost == eventsHost) ? commandPort : null;
    }
}

/// <summary>A per-service credential: a cell presenting <paramref name="Secret"/> may join only as one of <paramref name="Services"/>.</summary>
/// <param name="Secret">The secret, at least 16 characters.</param>
/// <param name="Services">The services it may join as.</param>
public sealed record CellCredential(string Secret, IReadOnlyList<string> Services)
{
    /// <summary>The credential without its secret, for logs.</summary>
    public override string ToString() => $"CellCredential {{ Services = {string.Join(",", Services)} }}";
}

/// <summary>A setting that breaks a rule: its property, the message, and whether it is a value out of range.</summary>
internal sealed record SettingProblem(string Setting, string Message, bool OutOfRange);
