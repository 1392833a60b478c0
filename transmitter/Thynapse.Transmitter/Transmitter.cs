using NetMQ;
using NetMQ.Sockets;
using Serilog;
using Thynapse.Core;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Mesh;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter;

/// <summary>
/// A running transmitter: a ROUTER command socket for cells and a PUB event socket (<see cref="PeerFeed"/>, the
/// mesh's), served by one routing thread.
/// </summary>
/// <remarks>
/// Both sockets belong to the routing thread (a <see cref="NetMQPoller"/>); nothing else touches them. Inbound
/// messages are handled in bursts and what a burst produced for each cell leaves as one frame per cell, so a
/// busy transmitter batches while an idle one sends each event at once.
/// </remarks>
public sealed class Transmitter : IAsyncDisposable
{
    /// <summary>Messages handled per wake-up before batched output is flushed.</summary>
    private const int ReceiveBudget = 4096;

    /// <summary>Budgets of input read at most before a liveness check.</summary>
    private const int MaxBudgetsBeforeJudging = 16;

    private readonly TransmitterOptions _options;
    private readonly ILogger _log;
    private readonly RouterSocket _router;
    private readonly PeerFeed _peers;
    private readonly NetMQPoller _poller;
    private readonly NetMQTimer _timer;
    private readonly NetMQTimer _backlogTimer;
    private readonly ConnectionGuard _connections;
    private readonly DeadPipeSweeper _deadPipes;
    private readonly CommandProcessor _processor;
    private readonly PeerLinks _mesh;
    private readonly Readiness _readiness;
    private readonly TransmitterCounters _counters = new();
    private readonly TransmitterMetrics _metrics;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Msg _routingId;
    private Msg _header;
    private Msg _body;
    private Msg _extra;
    private int _stopping;

    private Transmitter(TransmitterOptions options)
    {
        _options = options;
        _log = options.Logger.ForContext<Transmitter>();
        Id = options.Id ?? Thid.NewRandom();

        _router = new RouterSocket();
        try
        {
            _router.Options.RouterMandatory = true;
            _router.Options.Linger = TimeSpan.FromSeconds(1);
            _router.Options.SendHighWatermark = options.CellQueueFrames;
            // A short inbound queue per connection: past it TCP pushes back on the sender instead of us buffering, and
            // NetMQ's I/O thread stops spending turns on input nobody is reading (PROTOCOL.md §8.2).
            _router.Options.ReceiveHighWatermark = options.ReadAheadFrames;
            _router.Options.DisconnectMessage = CommandProcessor.DisconnectMarker;

            // Frames up to the limit get a clean FRAME_TOO_LARGE; far bigger ones are refused by the transport
            // itself (the peer is disconnected) so that no single peer can make us buffer without bound.
            _router.Options.MaxMsgSize = 2L * options.MaxFrameBytes + 65_536;
            Sockets.SecureServer(_router, options.CurveCertificate);
            Sockets.Bind(_router, nameof(TransmitterOptions.CommandEndpoint), options.CommandEndpoint);
            CommandEndpoint = Endpoint.Connectable(_router.Options.LastEndpoint!, options.AdvertiseHost);
            _peers = new PeerFeed(options);
            EventsEndpoint = _peers.Endpoint;
        }
        catch
        {
            _router.Dispose();
            throw;
        }

        _metrics = new TransmitterMetrics(_counters, Id.ToString(), options.TimeProvider);
        var peerAddresses = new PeerAddresses(_router);
        _processor = new CommandProcessor(options, Id, CommandEndpoint, EventsEndpoint, new RouterSender(_router), _counters)
        {
            SourceOf = peerAddresses.Of,
            ConnectionOf = peerAddresses.SocketOf,
        };
        _deadPipes = new DeadPipeSweeper(_router);
        _routingId.InitEmpty();
        _header.InitEmpty();
        _body.InitEmpty();
        _extra.InitEmpty();
        _router.ReceiveReady += OnCommandReady;

        // Ack deadlines need a finer clock than liveness; both are cheap checks.
        _timer = new NetMQTimer(options.TickInterval);
        // While some cell has a backlog behind its full queue (PROTOCOL.md §8.2), it is retried this often.
        _backlogTimer = new NetMQTimer(TimeSpan.FromMilliseconds(1)) { Enable = false };
        _backlogTimer.Elapsed += (_, _) => Guarded("retrying backlogs", () =>
        {
            _processor.RetryBacklogs(options.TimeProvider.GetTimestamp());
            _processor.FlushDirty(); // cells dropped as slow may have had deliveries to hand to others
            WatchBacklogs();
        });
        _poller = [_router, _peers.Socket];
        _poller.Add(_timer);
        _poller.Add(_backlogTimer);

        // The mesh opens its sockets and starts its timer only once it has a seed or a peer (PROTOCOL.md §12).
        _mesh = new PeerLinks(options, Id, CommandEndpoint, _peers, _poller, new RouterSender(_router), _processor.Clock, _counters, ReadAllInput);
        _processor.Mesh = _mesh;
        _mesh.SourceOf = new PeerAddresses(_router).Of;
        _mesh.Cells.Follow(_processor.Directory);
        _mesh.Cells.Follow(_processor.Subscriptions);
        _mesh.Cells.Routes = _processor.Routes;
        _processor.Sink.Forwarder = _mesh.Forwarder;
        _mesh.Forwarded = _processor.Forwarded;
        _processor.Forwarded.Replica = _mesh.Cells;
        _mesh.AfterStreams = _processor.FlushDirty;
        _processor.Discovery.Include(_mesh.Cells);
        _mesh.Roster.Changed += _processor.Sessions.AnnounceTransmitters;
        _processor.Sessions.ClaimElsewhere = _mesh.Cells.ClaimOf;
        _processor.Sessions.AddressOf = id => _mesh.Roster.Current.FirstOrDefault(t => t.Id == id);
        _mesh.Cells.Claimed += _processor.Sessions.ClaimedElsewhere;
        _readiness = new Readiness(_mesh.Membership, _mesh.Cells, _processor.Clock, options.Mesh, seeded: options.Peers.Count > 0, _log);
        _processor.Sessions.NotReady = _readiness.Check;

        // Cluster anycatch (PROTOCOL.md §12.11): what this ingress forwarded to a cell that leaves the replica (its
        // transmitter dead or left, or the cell gone there) is redelivered; a remote subscription may take queued work;
        // targets and selectors are computed again when a remote cell changes; a dead ingress's relayed deliveries are forgotten.
        _mesh.Cells.Left += cell =>
        {
            _processor.Directory.RemoteChanged();
            _processor.Tracker.RedeliverHeldBy(cell, $"its cell is gone from transmitter {cell.Transmitter}");
        };
        _mesh.Cells.Joined += _ => _processor.Directory.RemoteChanged();
        _mesh.Cells.Updated += _ => _processor.Directory.RemoteChanged();
        _mesh.Cells.Subscribed += _processor.Tracker.RoomFreed;
        _mesh.Membership.Gone += member => _processor.Relay.IngressGone(member.Id);
        _connections = new ConnectionGuard(_router, Endpoint.PortOf(_router.Options.LastEndpoint!), options, _counters, _log);
        _timer.Elapsed += (_, _) => Guarded("periodic work", OnTick);
    }

    /// <summary>The mesh's sockets and engines (tests reach its fault switches through it).</summary>
    internal PeerLinks Mesh => _mesh;

    /// <summary>
    /// True once cells may join: at once without seeds; with them, once this transmitter holds the cell directory of every
    /// live member it knows, or <see cref="MeshOptions.ReadinessTimeout"/> after it started (PROTOCOL.md §12.8, "Readiness").
    /// </summary>
    public bool IsReady => _readiness.IsOpen;

    /// <summary>The guard of the command socket's connections (tests make its count drift).</summary>
    internal ConnectionGuard Connections => _connections;

    /// <summary>This transmitter's THID.</summary>
    public Thid Id { get; }

    /// <summary>The command (ROUTER) endpoint, in a form cells can connect to.</summary>
    public string CommandEndpoint { get; }

    /// <summary>The event (PUB) endpoint, in a form peers can connect to (sent to cells in <c>WLCM.pub</c>).</summary>
    public string EventsEndpoint { get; }

    /// <summary>
    /// The other transmitters of the mesh as this one sees them: THID, endpoints, state, incarnation, last seen (empty
    /// without peers). A snapshot, safe to read from any thread; last-seen times are at most 100 ms old.
    /// </summary>
    public IReadOnlyList<PeerInfo> Peers => _mesh.Membership.View;

    /// <summary>This transmitter's incarnation in the mesh: its start time in ms since 1970, raised by each refutation.</summary>
    public long Incarnation => _mesh.Membership.Incarnation;

    /// <summary>Completes when the transmitter has stopped.</summary>
    public Task Completion => _stopped.Task;

    /// <summary>A snapshot of the counters.</summary>
    public TransmitterStats Stats => new()
    {
        EventsReceived = TransmitterCounters.Read(ref _counters.EventsReceived),
        EventsRejected = TransmitterCounters.Read(ref _counters.EventsRejected),
        EventsWithoutReceiver = TransmitterCounters.Read(ref _counters.EventsWithoutReceiver),
        Deliveries = TransmitterCounters.Read(ref _counters.Deliveries),
        DeliveriesDropped = TransmitterCounters.Read(ref _counters.DeliveriesDropped),
        ConfirmationsDropped = TransmitterCounters.Read(ref _counters.ConfirmationsDropped),
        RepliesDropped = TransmitterCounters.Read(ref _counters.RepliesDropped),
        ProtocolErrors = TransmitterCounters.Read(ref _counters.ProtocolErrors),
        CellsJoined = TransmitterCounters.Read(ref _counters.CellsJoined),
        CellsLeft = TransmitterCounters.Read(ref _counters.CellsLeft),
        CellsExpired = TransmitterCounters.Read(ref _counters.CellsExpired),
        CellsDisconnected = TransmitterCounters.Read(ref _counters.CellsDisconnected),
        Cells = TransmitterCounters.Read(ref _counters.Cells),
        Subscriptions = TransmitterCounters.Read(ref _counters.Subscriptions),
        Acks = TransmitterCounters.Read(ref _counters.Acks),
        Nacks = TransmitterCounters.Read(ref _counters.Nacks),
        AckTimeouts = TransmitterCounters.Read(ref _counters.AckTimeouts),
        LateAcks = TransmitterCounters.Read(ref _counters.LateAcks),
        Redeliveries = TransmitterCounters.Read(ref _counters.Redeliveries),
        DeadLetters = TransmitterCounters.Read(ref _counters.DeadLetters),
        DeadLettersDropped = TransmitterCounters.Read(ref _counters.DeadLettersDropped),
        InFlight = TransmitterCounters.Read(ref _counters.InFlight),
        Queued = TransmitterCounters.Read(ref _counters.Queued),
        Completions = TransmitterCounters.Read(ref _counters.Completions),
        Backlogs = TransmitterCounters.Read(ref _counters.Backlogs),
        SlowVerdicts = TransmitterCounters.Read(ref _counters.SlowVerdicts),
        CreditPauses = TransmitterCounters.Read(ref _counters.CreditPauses),
        CellsCutOff = TransmitterCounters.Read(ref _counters.CellsCutOff),
        CellsMovedIn = TransmitterCounters.Read(ref _counters.CellsMovedIn),
        CellsNotReady = TransmitterCounters.Read(ref _counters.CellsNotReady),
        CellsMovedOut = TransmitterCounters.Read(ref _counters.CellsMovedOut),
        MissedWhileAway = TransmitterCounters.Read(ref _counters.MissedWhileAway),
        Extensions = TransmitterCounters.Read(ref _counters.Extensions),
        RoutingStalled = _options.TimeProvider.GetElapsedTime(0, TransmitterCounters.Read(ref _counters.RoutingStalledTicks)),
        ConnectionsAccepted = TransmitterCounters.Read(ref _counters.ConnectionsAccepted),
        ConnectionsRefused = TransmitterCounters.Read(ref _counters.ConnectionsRefused),
        ConnectionsRefusedPerAddress = TransmitterCounters.Read(ref _counters.ConnectionsRefusedPerAddress),
        EventsRateLimited = TransmitterCounters.Read(ref _counters.EventsRateLimited),
        HandshakeTimeouts = TransmitterCounters.Read(ref _counters.HandshakeTimeouts),
        DeadPipesSwept = TransmitterCounters.Read(ref _counters.DeadPipesSwept),
        AuthenticationFailures = TransmitterCounters.Read(ref _counters.AuthenticationFailures),
        KeysRefused = TransmitterCounters.Read(ref _counters.KeysRefused),
        ClaimsRefused = TransmitterCounters.Read(ref _counters.ClaimsRefused),
        AttemptsThrottled = TransmitterCounters.Read(ref _counters.AttemptsThrottled),
        SourcesBlocked = TransmitterCounters.Read(ref _counters.SourcesBlocked),
        PeersAlive = TransmitterCounters.Read(ref _counters.MeshAlive),
        PeersSuspect = TransmitterCounters.Read(ref _counters.MeshSuspect),
        PeersDead = TransmitterCounters.Read(ref _counters.MeshDead),
        MeshHealth = (int)TransmitterCounters.Read(ref _counters.MeshHealth),
        PeerJoins = TransmitterCounters.Read(ref _counters.MeshJoins),
        PeerLeaves = TransmitterCounters.Read(ref _counters.MeshLeaves),
        PeerSuspicions = TransmitterCounters.Read(ref _counters.MeshSuspicions),
        PeerDeaths = TransmitterCounters.Read(ref _counters.MeshDeaths),
        MeshRefutations = TransmitterCounters.Read(ref _counters.MeshRefutations),
        MeshProbes = TransmitterCounters.Read(ref _counters.MeshProbes),
        MeshProbesFailed = TransmitterCounters.Read(ref _counters.MeshProbesFailed),
        MeshIndirectProbes = TransmitterCounters.Read(ref _counters.MeshIndirectProbes),
        MeshJoinAttempts = TransmitterCounters.Read(ref _counters.MeshJoinAttempts),
        MeshJoinFailures = TransmitterCounters.Read(ref _counters.MeshJoinFailures),
        MeshMessagesLost = TransmitterCounters.Read(ref _counters.MeshGaps),
        MeshSnapshots = TransmitterCounters.Read(ref _counters.MeshSnapshots),
        MeshEventsForwarded = TransmitterCounters.Read(ref _counters.MeshEventsForwarded),
        MeshForwardsReceived = TransmitterCounters.Read(ref _counters.MeshForwardsReceived),
        MeshForwardsResent = TransmitterCounters.Read(ref _counters.MeshForwardsResent),
        MeshForwardsGone = TransmitterCounters.Read(ref _counters.MeshForwardsGone),
        MeshForwardsLost = TransmitterCounters.Read(ref _counters.MeshForwardsLost),
        MeshOutcomesRelayed = TransmitterCounters.Read(ref _counters.MeshOutcomesRelayed),
        MeshLoadReports = TransmitterCounters.Read(ref _counters.MeshLoadReports),
        MeshDeliveriesMissed = TransmitterCounters.Read(ref _counters.MeshDeliveriesMissed),
        MeshAnycatchLost = TransmitterCounters.Read(ref _counters.MeshAnycatchLost),
        MeshRemoteCells = TransmitterCounters.Read(ref _counters.MeshRemoteCells),
        MeshCellRecords = TransmitterCounters.Read(ref _counters.MeshCellRecords),
        MeshCellRecordsStale = TransmitterCounters.Read(ref _counters.MeshCellRecordsStale),
        MeshMalformed = TransmitterCounters.Read(ref _counters.MeshMalformed),
        MeshAuthFailures = TransmitterCounters.Read(ref _counters.MeshAuthFailures),
        MeshMessagesSent = TransmitterCounters.Read(ref _counters.MeshSent),
        MeshMessagesReceived = TransmitterCounters.Read(ref _counters.MeshReceived),
        Connections = TransmitterCounters.Read(ref _counters.ConnectionsAccepted) - TransmitterCounters.Read(ref _counters.ConnectionsClosed),
    };

    /// <summary>Binds the sockets and starts the routing thread.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it and the rule it breaks.</exception>
    /// <exception cref="TransmitterBindException">An endpoint could not be bound; the message says which, and why.</exception>
    public static Transmitter Start(TransmitterOptions? options = null)
    {
        options ??= TransmitterOptions.Default;
        options.Validate();
        var transmitter = new Transmitter(options);
        transmitter._mesh.Start(options.Peers);
        transmitter._poller.RunAsync("thynapse-routing", isBackgroundThread: true);
        transmitter._log.Information("Transmitter {TransmitterId} routing on {CommandEndpoint}, publishing on {EventsEndpoint}",
            transmitter.Id, transmitter.CommandEndpoint, transmitter.EventsEndpoint);
        return transmitter;
    }

    /// <summary>
    /// Stops gracefully: every cell is told (<c>GBYE</c>) after what is queued for it, the mesh is told this transmitter
    /// leaves, then the sockets close, lingering up to a second for those last frames.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            await InvokeAsync(p =>
            {
                p.FlushDirty();
                p.Shutdown();
                _mesh.Leave();
                p.FlushDirty();
                WatchBacklogs();
                return true;
            }).ConfigureAwait(false);
        }
        finally
        {
            await Task.Run(_poller.Stop).ConfigureAwait(false);
            _connections.Dispose();
            _poller.Dispose();
            _router.Dispose();
            _mesh.Dispose();
            _peers.Dispose();
            _timer.Enable = false;
            _metrics.Dispose();
            _routingId.Close();
            _header.Close();
            _body.Close();
            _extra.Close();
            _log.Information("Transmitter {TransmitterId} stopped", Id);
            _stopped.TrySetResult();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Runs <paramref name="action"/> on the routing thread (introspection for tests and tools).</summary>
    internal Task<T> InvokeAsync<T>(Func<CommandProcessor, T> action) =>
        Task.Factory.StartNew(() => action(_processor), CancellationToken.None, TaskCreationOptions.None, _poller);

    private void OnCommandReady(object? sender, NetMQSocketEventArgs? e) => ReadInput();

    /// <summary>Periodic work: liveness, ack deadlines, connections that said nothing.</summary>
    private void OnTick()
    {
        // Read everything that already arrived first: a cell whose beat waits in the socket is not silent (§4.4).
        ReadAllInput();
        var now = _options.TimeProvider.GetTimestamp();
        _processor.Tick(now);
        _readiness.Check(); // opens the gate (and says so) without waiting for a cell to ask
        _processor.SweepAckDeadlines(now);
        _processor.FlushDirty();
        WatchBacklogs();
        TransmitterCounters.Add(ref _counters.DeadPipesSwept, _deadPipes.Sweep());
    }

    /// <summary>Reads one budget of inbound messages and flushes what they produced; true when the socket ran dry.</summary>
    private bool ReadInput()
    {
        var now = _options.TimeProvider.GetTimestamp();
        var read = 0;
        for (; read < ReceiveBudget && _router.TryReceive(ref _routingId, TimeSpan.Zero); read++)
        {
            ReceiveRest(out var frames, out var largestExtra);
            _processor.Handle(_routingId.Slice(), _header.Slice(), _body.Slice(), frames, largestExtra, now);
            Release(ref _routingId);
            Release(ref _header);
            Release(ref _body);
        }

        Guarded("sending batched output", _processor.FlushDirty);
        WatchBacklogs();
        return read < ReceiveBudget;
    }

    /// <summary>
    /// Reads what waits in the socket, a few budgets at most, before liveness is judged: after a stall the beats that
    /// show cells alive may sit behind thousands of other messages.
    /// </summary>
    private void ReadAllInput()
    {
        for (var i = 0; i < MaxBudgetsBeforeJudging && !ReadInput(); i++)
        {
        }
    }

    /// <summary>Retries backlogs every millisecond while some cell has one (the poller sleeps otherwise).</summary>
    private void WatchBacklogs() => _backlogTimer.Enable = _processor.HasBacklog;

    /// <summary>
    /// Runs poller work so that a bug in it is logged instead of escaping into NetMQ's loop, which would end the
    /// routing thread (and the process) for everyone.
    /// </summary>
    private void Guarded(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _log.Error(ex, "Failed at {Work}; the transmitter goes on", what);
        }
    }

    /// <summary>
    /// Takes the rest of a multipart message (its frames arrive together): the header, the body if any, and any
    /// further frames, which are only measured so the command can be refused with their count.
    /// </summary>
    private void ReceiveRest(out int frames, out int largestExtra)
    {
        frames = 0;
        largestExtra = 0;
        if (!_routingId.HasMore || !_router.TryReceive(ref _header, TimeSpan.Zero))
        {
            return;
        }

        frames = 1;
        if (!_header.HasMore || !_router.TryReceive(ref _body, TimeSpan.Zero))
        {
            return;
        }

        frames = 2;
        var more = _body.HasMore;
        while (more && _router.TryReceive(ref _extra, TimeSpan.Zero))
        {
            frames++;
            largestExtra = Math.Max(largestExtra, _extra.Size);
            more = _extra.HasMore;
            Release(ref _extra);
        }
    }

    private static void Release(ref Msg msg)
    {
        msg.Close();
        msg.InitEmpty();
    }
}
