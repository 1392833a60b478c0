using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>How a cell connects and buffers. Start from <see cref="Default"/> and tune with <c>with { … }</c>.</summary>
public sealed record CellOptions
{
    /// <summary>The defaults; <see cref="Service"/> must still be set.</summary>
    public static CellOptions Default { get; } = new();

    /// <summary>
    /// The transmitter's command endpoint, <c>tcp://host:port</c> (default: <c>tcp://127.0.0.1:4710</c>); any other form
    /// is refused by <see cref="Cell.ConnectAsync"/> with an <see cref="ArgumentException"/> that suggests the
    /// <c>tcp://</c> form meant.
    /// </summary>
    public string Transmitter { get; init; } = "tcp://127.0.0.1:4710";

    /// <summary>
    /// More transmitters' command endpoints (<c>tcp://host:port</c>) to join when <see cref="Transmitter"/> cannot be
    /// reached, or to fail over to (default: null, none). The transmitters a welcome lists (its mesh's live members,
    /// PROTOCOL.md §5.19) are tried as well; these matter for the first connect, and when every listed one is gone.
    /// </summary>
    public IReadOnlyList<string>? Transmitters { get; init; }

    /// <summary>
    /// Fail over to the transmitters a welcome or a <c>TMTR</c> lists (PROTOCOL.md §5.19) as well as to
    /// <see cref="Transmitter"/> and <see cref="Transmitters"/> (default: true). False: only to those two, also when a
    /// shutting-down transmitter names another member to move to; for a cell that reaches its transmitters through a
    /// proxy, a port forward or a load balancer, whose own addresses are not the ones the transmitters advertise.
    /// <see cref="Cell.Transmitters"/> shows the listed ones either way.
    /// </summary>
    public bool UseListedTransmitters { get; init; } = true;

    /// <summary>The service this cell belongs to (required): 1–64 letters, digits, <c>_</c>, <c>-</c> or <c>.</c>.</summary>
    public string Service { get; init; } = "";

    /// <summary>
    /// The secret the transmitter requires (its <c>--secret</c>, or a per-service credential's), sent in every
    /// <c>HELO</c> (default: null: none). A missing or wrong one fails <see cref="Cell.ConnectAsync"/> with a
    /// <see cref="ThynapseRejectedException"/> whose code is <see cref="ThynapseErrorCode.AuthenticationFailed"/>.
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>
    /// The transmitter's CURVE public key, Z85, 40 characters (the <c>.pub</c> file <c>thynapse-transmitter keygen</c>
    /// wrote) (default: null: no CURVE). Required to reach a transmitter with a CURVE key: its traffic is then encrypted
    /// and only that transmitter can answer. Without it such a transmitter never answers, and
    /// <see cref="Cell.ConnectAsync"/> times out.
    /// </summary>
    public string? TransmitterPublicKey { get; init; }

    /// <summary>
    /// The cell's own CURVE public key, Z85 (default: null: a new key pair per cell). Set with <see cref="CurveSecretKey"/>.
    /// With a fixed pair every <c>HELO</c> proves the cell holds it (<c>HELO.key</c>), for a transmitter that admits only
    /// listed keys (<c>--allowed-keys-file</c>, PROTOCOL.md §5.1).
    /// </summary>
    public string? CurvePublicKey { get; init; }

    /// <summary>The cell's own CURVE secret key, Z85 (default: null: a new key pair per cell). Set with <see cref="CurvePublicKey"/>.</summary>
    public string? CurveSecretKey { get; init; }

    /// <summary>The cell's THID (default: null, a new random one per <see cref="Cell"/>).</summary>
    public Thid? Id { get; init; }

    /// <summary>
    /// Metadata sent in <c>HELO</c> (default: null, an empty object): what targeted events and discovery match.
    /// Copied at connect; change it with <see cref="Cell.UpdateMetadataAsync"/>.
    /// </summary>
    public JObject? Metadata { get; init; }

    /// <summary>Tags sent in <c>HELO</c>, for discovery (default: null, none).</summary>
    public IReadOnlyCollection<string>? Tags { get; init; }

    /// <summary>How long <see cref="Cell.ConnectAsync"/> waits for <c>WLCM</c> (default: 10 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a request (subscribing, metadata, discovery, watches) waits for the transmitter's answer, including the
    /// time it waits for a re-join when the cell has no session (default: 10 s).
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Events one subscription buffers for its observers; past this a multicatch subscription drops events,
    /// counts them and reports a <see cref="CellNoticeKind.SlowConsumer"/> notice (default: 65,536).
    /// </summary>
    public int SubscriptionBufferCapacity { get; init; } = 65_536;

    /// <summary>
    /// Bytes of published events waiting for the socket; past this <c>Publish</c> waits for room, up to
    /// <see cref="PublishTimeout"/> (default: 16 MiB).
    /// </summary>
    public int MaxPendingPublishBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>How long a publish waits for room in a full buffer, and how long an awaited publish waits for its confirmation (default: 10 s).</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes of events batched into one frame while the socket is busy (default: 32 KiB).</summary>
    public int BatchBytes { get; init; } = 32 * 1024;

    /// <summary>
    /// How far back this cell remembers the anycatch events it handled, so that a redelivered duplicate (its ack was
    /// lost) is acknowledged again without reaching the handler: the latest this many sequence numbers of each origin
    /// (rounded up to a power of two; default: 100,000, at most 16 KiB per origin, for up to 1,024 origins).
    /// </summary>
    public int DeduplicationWindow { get; init; } = 100_000;

    /// <summary>
    /// Let NetMQ reuse frame buffers from a pool (<see cref="PooledBufferPool"/>) instead of allocating one per frame
    /// (default: true). NetMQ's pool is process-wide: this applies to every NetMQ socket of the process.
    /// </summary>
    public bool PooledBuffers { get; init; } = true;

    /// <summary>
    /// How long disposing (the cell, or a handler's subscription) waits for running handlers after cancelling their
    /// tokens (default: 5 s). A handler still running then is abandoned: it may finish, but its acknowledgement goes
    /// nowhere, and the transmitter redelivers its event.
    /// </summary>
    public TimeSpan HandlerStopTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the cell logs (default: nowhere).</summary>
    public ILogger Logger { get; init; } = Serilog.Core.Logger.None;

    /// <summary>The <c>HELO.key</c> proof of a fixed CURVE key pair for <paramref name="cellId"/>, or null without one (after <see cref="Validate"/>).</summary>
    internal KeyProof? KeyProof(Thid cellId) => CurvePublicKey is { } own ? Core.KeyProof.Create(CurveSecretKey!, own, TransmitterPublicKey!, cellId) : null;

    /// <summary>The CURVE keys a link presents, or null without CURVE (after <see cref="Validate"/>).</summary>
    internal (NetMQ.NetMQCertificate Own, byte[] Server)? Curve() => TransmitterPublicKey is { } server
        ? (CurvePublicKey is { } own ? new NetMQ.NetMQCertificate(CurveSecretKey!, own) : new NetMQ.NetMQCertificate(), NetMQ.NetMQCertificate.FromPublicKey(server).PublicKey)
        : null;

    internal void Validate()
    {
        if (!Endpoint.TryValidate(Transmitter, $"{nameof(CellOptions)}.{nameof(Transmitter)}", bind: false, defaultPort: 4710, out var endpointError))
        {
            throw new ArgumentException(endpointError, nameof(Transmitter));
        }

        foreach (var endpoint in Transmitters ?? [])
        {
            if (!Endpoint.TryValidate(endpoint, $"{nameof(CellOptions)}.{nameof(Transmitters)}", bind: false, defaultPort: 4710, out var otherError))
            {
                throw new ArgumentException(otherError, nameof(Transmitters));
            }
        }

        if (!ServiceName.TryValidate(Service, out var error))
        {
            throw new ArgumentException($"Invalid {nameof(Service)}: {error}.", nameof(Service));
        }

        if (TransmitterPublicKey is { } server && !CurveKeys.IsKey(server))
        {
            throw new ArgumentException($"{nameof(TransmitterPublicKey)} must be the transmitter's Z85 CURVE public key, 40 characters; got {server.Length} characters.", nameof(TransmitterPublicKey));
        }

        if ((CurvePublicKey is null) != (CurveSecretKey is null) || (CurvePublicKey is not null && TransmitterPublicKey is null))
        {
            throw new ArgumentException($"Set {nameof(CurvePublicKey)} and {nameof(CurveSecretKey)} together, and with {nameof(TransmitterPublicKey)}.", CurvePublicKey is null ? nameof(CurvePublicKey) : nameof(CurveSecretKey));
        }

        if (CurvePublicKey is { } own && (!CurveKeys.IsKey(own) || !CurveKeys.IsKey(CurveSecretKey)))
        {
            throw new ArgumentException($"{nameof(CurvePublicKey)} and {nameof(CurveSecretKey)} must be Z85 CURVE keys, 40 characters each.", nameof(CurvePublicKey));
        }

        ArgumentNullException.ThrowIfNull(Logger);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ConnectTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PublishTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(HandlerStopTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(SubscriptionBufferCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(DeduplicationWindow, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingPublishBytes, BatchBytes);
    }
}
