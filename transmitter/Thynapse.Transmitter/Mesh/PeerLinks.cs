using NetMQ;
using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The mesh's network side (PROTOCOL.md §12.1), carrying out what <see cref="Membership"/> asks of it
/// (<see cref="IPeerTransport"/>): the DEALERs to the members' command sockets (<see cref="CommandLinks"/>), the SUB
/// reading their streams (<see cref="PeerSubscriber"/>), the transmitter's own PUB (<see cref="PeerFeed"/>) it
/// publishes its numbered streams on, the mesh requests arriving on the command socket, and the periodic work.
/// </summary>
/// <remarks>
/// Every socket belongs to the routing thread's poller. A transmitter without peers opens none of them and its timer
/// stays disabled; the first seed or the first <c>JOIN</c> from a peer activates the mesh.
/// </remarks>
internal sealed class PeerLinks : IPeerTransport, IDisposable
{
    private readonly PeerFeed _feed;
    private readonly IFrameSender _replies;
    private readonly StallAwareClock _clock;
    private readonly TransmitterCounters _counters;
    private readonly MeshLog _log;
    private readonly Action _readCommands;
    private readonly Dictionary<byte[], Thid> _connections = new(ByteArrayComparer.Instance);
    private readonly SeedResolver _seeds;
    private readonly PeerSubscriber _subscriber;
    private readonly ClusterGate? _gate;
    private readonly NetMQTimer _timer;
    private readonly long _pulseInterval;
    private long _nextPulseAt;
    private bool _active;
    private bool _disposed;

    /// <param name="options">The transmitter's options (<see cref="TransmitterOptions.Mesh"/>, the logger, the clock).</param>
    /// <param name="id">This transmitter's THID.</param>
    /// <param name="commandEndpoint">Its command endpoint as peers connect to it.</param>
    /// <param name="feed">Its event socket.</param>
    /// <param name="poller">The routing thread's poller.</param>
    /// <param name="replies">The command socket, for the answers to <c>JOIN</c>.</param>
    /// <param name="clock">The routing clock.</param>
    /// <param name="counters">The transmitter's counters.</param>
    /// <param name="readCommands">Reads what waits in the command socket (before verdicts, as for cells, §4.4).</param>
    public PeerLinks(TransmitterOptions options, Thid id, string commandEndpoint, PeerFeed feed, NetMQPoller poller, IFrameSender replies,
        StallAwareClock clock, TransmitterCounters counters, Action readCommands)
    {
        _feed = feed;
        _replies = replies;
        _clock = clock;
        _counters = counters;
        _readCommands = readCommands;
        _log = new MeshLog(options.Logger.ForContext<PeerLinks>(), clock, counters);
        _pulseInterval = clock.TicksOf(options.Mesh.PulseInterval);

        // The incarnation grows across restarts of the same THID: the wall clock at start, in milliseconds (§12.4).
        var incarnation = Math.Max(1, options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        Membership = new Membership(id, incarnation, commandEndpoint, feed.Endpoint, options.Mesh, this, clock, options.TimeProvider, counters, options.Logger, new Random());
        ClusterKey = options.Mesh.CreateClusterKey();
        _gate = ClusterKey is { } key ? new ClusterGate(key, options, counters, _log) : null;
        Links = new CommandLinks(options, Membership, poller, clock, counters, _log, ClusterKey, OnAnswered);
        _subscriber = new PeerSubscriber(options, this, poller, clock, counters, _log);
        // Added now, disabled: NetMQ's poller cannot take a timer while it runs timers (an activation may come from one).
        _timer = new NetMQTimer(options.Mesh.TickInterval) { Enable = false };
        _timer.Elapsed += (_, _) => _log.Guarded("mesh periodic work", OnTick);
        poller.Add(_timer);
        _seeds = new SeedResolver(options.Mesh, clock, poller, _log.Log, _log.Warnings, Membership.AddSeed, () => _disposed);
        Cells = new CellReplica(() => Membership.Incarnation, Serving, clock, options.Mesh.CellTombstoneTime, counters) { Publish = PublishCell };
        Forwarder = new EventForwarder(feed, () => Membership.Id, () => Membership.Incarnation, id => Membership.TryGet(id, out var member) ? member : null, options.Mesh.ForwardBufferBytes, counters)
        {
            RecordsOf = id => Membership.TryGet(id, out var member) ? member.Records : 0,
            Serving = () => Membership.Members.Where(m => m.State is PeerState.Alive or PeerState.Suspect).Select(m => m.Id),
        };
        Inbox = new ForwardInbox(() => Membership.Incarnation, () => _clock.Now, 2 * _pulseInterval, DeliverForwarded,
            (sender, from, through) => Links.Request(sender, new ResendRequest(from, through).ToFrame()), ForwardsLost);
        Membership.Gone += member =>
        {
            Cells.OwnerGone(member.Id);
            Forwarder.Forget(member.Id);
            Inbox.SenderGone(member.Id);
        };
        Roster = new TransmitterRoster(Membership);
    }

    /// <summary>The forward streams this transmitter sends events to its peers on (PROTOCOL.md §12.11).</summary>
    public EventForwarder Forwarder { get; }

    /// <summary>The forward streams of the peers to this transmitter, put back in order.</summary>
    public ForwardInbox Inbox { get; }

    /// <summary>Delivers forwarded events to local cells (set by the transmitter).</summary>
    public Routing.ForwardedRouter? Forwarded { get; set; }

    /// <summary>Sends what reading the peers' streams produced for cells (the end of a burst; set by the transmitter).</summary>
    public Action? AfterStreams { get; set; }

    public Membership Membership { get; }

    /// <summary>The keys of the cluster secret (PROTOCOL.md §12.12), or null without one.</summary>
    public ClusterKey? ClusterKey { get; }

    /// <summary>The source address of a command socket connection, for the limit on guessing the cluster secret (set by the transmitter).</summary>
    public SourceOf? SourceOf
    {
        set
        {
            if (_gate is not null)
            {
                _gate.SourceOf = value;
            }
        }
    }

    /// <summary>The command links to the members (and the join attempts).</summary>
    public CommandLinks Links { get; }

    /// <summary>The transmitters cells may fail over to (<c>WLCM.transmitters</c>, <c>TMTR</c>).</summary>
    public TransmitterRoster Roster { get; }

    /// <summary>The replicated cell directory: this transmitter's cells, and its replica of every other member's (§12.8).</summary>
    public CellReplica Cells { get; }

    /// <summary>Joins the mesh through <paramref name="seeds"/> (command endpoints; names are resolved, one seed per address).</summary>
    public void Start(IReadOnlyList<string> seeds)
    {
        foreach (var seed in seeds)
        {
            Activate();
            _seeds.Add(seed);
        }
    }

    /// <summary>
    /// A mesh request on the command socket (<c>JOIN</c>, <c>PING</c>, <c>PREQ</c>), from a connection without a cell
    /// session; the frame checks were made by the command processor. Returns the code to refuse it with, if any.
    /// </summary>
    public ThynapseErrorCode HandleRequest(ReadOnlySpan<byte> routingId, MeshCommand command, JObject json, out string? error)
    {
        _clock.Advance();
        TransmitterCounters.Increment(ref _counters.MeshReceived);
        if (command == MeshCommand.Join)
        {
            return HandleJoin(routingId, json, out error);
        }

        if (!_connections.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(routingId, out var peer))
        {
            if (_gate is not null)
            {
                return _gate.RefuseRequest(routingId, command, out error);
            }

            error = $"{MeshCommands.Of(command)} is a transmitter mesh command (PROTOCOL.md §12): a transmitter sends JOIN first on its connection, and a cell cannot send it";
            return ThynapseErrorCode.UnknownCommand;
        }

        Membership.Heard(peer, Membership.TryGet(peer, out var member) ? member.Incarnation : 0);
        error = null;
        switch (command)
        {
            case MeshCommand.Ping when PingMessage.TryRead(json, out var ping, out error):
                Membership.OnPing(peer, ping);
                return ThynapseErrorCode.None;
            case MeshCommand.Preq when PingRequestMessage.TryRead(json, out var request, out error):
                Membership.OnPingRequest(peer, request);
                return ThynapseErrorCode.None;
            case MeshCommand.Rsnd when ResendRequest.TryRead(json, out var resend, out error):
                Forwarder.Resend(peer, resend.From, resend.Through);
                return ThynapseErrorCode.None;
            default:
                error ??= $"{MeshCommands.Of(command)} is not sent to a command socket";
                return ThynapseErrorCode.InvalidField;
        }
    }

    /// <summary>
    /// A connection of the command socket closed: if it was a peer's, it has to prove itself again, and the peer is
    /// probed at once (a killed process's connections close with it: this finds it a probe interval sooner).
    /// </summary>
    public void Disconnected(ReadOnlySpan<byte> routingId)
    {
        _gate?.Disconnected(routingId);
        if (_connections.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(routingId, out _, out var peer))
        {
            _clock.Advance();
            Membership.Prod(peer);
        }
    }

    /// <summary>Announces the leave (graceful shutdown); the sockets close with the transmitter.</summary>
    public void Leave()
    {
        if (_active)
        {
            Membership.Leave();
        }
    }

    public void Link(Member member)
    {
        Activate();
        Links.Follow(member);
        _subscriber.Listen(member.Id, member.EventsEndpoint);
    }

    public void Unlink(Member member, bool keepListening)
    {
        Links.Unfollow(member.Id);
        _subscriber.Unfollowed(member.Id);
        if (!keepListening)
        {
            _subscriber.StopListening(member.Id);
            _feed.Forget(member.Id);
        }
    }

    public void PushPull(Member member) => Links.Join(member.Id);

    public void StartAttempt(int attempt, string endpoint)
    {
        Activate();
        Links.StartAttempt(attempt, endpoint);
    }

    public void EndAttempt(int attempt) => Links.EndAttempt(attempt);

    public void Ping(Member target, ulong nonce, long? suspectedAt) => Links.Request(target.Id, new PingMessage(nonce, suspectedAt).ToFrame());

    public void PingRequest(Member helper, Thid target, ulong nonce) => Links.Request(helper.Id, new PingRequestMessage(nonce, target).ToFrame());

    public void Answer(Thid to, MeshCommand command, ulong nonce)
    {
        var header = new StreamHeader(Membership.Id, Membership.Incarnation, _feed.NextDirected(to));
        _feed.Direct(to, new ProbeAnswer(header, nonce).ToFrame(command));
        TransmitterCounters.Increment(ref _counters.MeshSent);
    }

    public void Broadcast(IReadOnlyList<MemberRecord> records)
    {
        var header = new StreamHeader(Membership.Id, Membership.Incarnation, _feed.NextBroadcast());
        _feed.Broadcast(new MembersMessage(header, records).ToFrame());
        TransmitterCounters.Increment(ref _counters.MeshSent);
    }

    /// <summary>Closes every mesh socket (after the poller has stopped).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Links.Dispose();
        _subscriber.Dispose();
        _timer.Enable = false;
    }

    /// <summary>The first seed or peer: opens the SUB socket and starts the mesh's timer.</summary>
    private void Activate()
    {
        if (_active)
        {
            return;
        }

        _active = true;
        _subscriber.Open();
        _timer.Enable = true;
        _nextPulseAt = _clock.Now;
    }

    private void OnTick()
    {
        // Everything that already arrived is read first: a member whose answer waits unread is not silent (§4.4).
        _readCommands();
        _clock.Advance();
        _subscriber.Read();
        Links.ReadAll();
        Membership.Tick();
        Cells.Tick();
        Inbox.Tick();
        var now = _clock.Now;
        if (now >= _nextPulseAt)
        {
            _nextPulseAt = now + _pulseInterval;
            Pulse();
        }

        _seeds.Tick();
    }

    /// <summary>A <c>FWRD</c> in its stream's order: its events go to the local cells.</summary>
    private void DeliverForwarded(Thid sender, ReadOnlySpan<byte> records)
    {
        if (Forwarded is { } router && !router.Deliver(sender, records, out var error))
        {
            _log.Malformed($"a FWRD of peer {sender}", error!);
        }
    }

    private void ForwardsLost(Thid sender, long lost)
    {
        TransmitterCounters.Add(ref _counters.MeshForwardsLost, lost);
        if (_log.Warnings.Allow(WarningKind.PeerStreamGap))
        {
            _log.Log.Warning("Lost {Lost} message(s) of forwarded events from peer {PeerId}: past its retransmit buffer, or it did not answer; counted in thynapse.mesh.forwards.lost",
                lost, sender);
        }
    }

    /// <summary>True for a member whose cell records are taken: alive or suspect (a dead one's cells are gone).</summary>
    private bool Serving(Thid id) => Membership.TryGet(id, out var member) && member.State is PeerState.Alive or PeerState.Suspect;

    /// <summary>A local cell changed: its record goes out at once on the broadcast stream (nothing while there is no mesh).</summary>
    private void PublishCell(CellRecord record)
    {
        if (!_active || Membership.Leaving)
        {
            return;
        }

        var header = new StreamHeader(Membership.Id, Membership.Incarnation, _feed.NextBroadcast());
        _feed.Broadcast(new CellsMessage(header, [record]).ToFrame());
        TransmitterCounters.Increment(ref _counters.MeshSent);
    }

    private void Pulse()
    {
        if (Membership.Leaving)
        {
            return;
        }

        var header = new StreamHeader(Membership.Id, Membership.Incarnation, _feed.BroadcastSeq);
        _feed.Broadcast(new PulseMessage(header, _feed.DirectedSeqs) { Forward = Forwarder.LastNumbers }.ToFrame());
        TransmitterCounters.Increment(ref _counters.MeshSent);
    }

    private ThynapseErrorCode HandleJoin(ReadOnlySpan<byte> routingId, JObject json, out string? error)
    {
        var code = JoinMessage.TryRead(json, out var join, out error);
        if (code != ThynapseErrorCode.None)
        {
            return code;
        }

        // Admission (§12.12): without a cluster secret any well-formed JOIN, a peer proving it is a transmitter by speaking
        // the mesh protocol (no cell command works on its connection); with one, a connection proves the secret once.
        var id = routingId.ToArray();
        if (_gate is not null && !_connections.ContainsKey(id) && !_gate.Admit(routingId, join!, json, out code, out error, out var challenge))
        {
            if (challenge is not null)
            {
                _replies.Send(id, challenge);
                TransmitterCounters.Increment(ref _counters.MeshSent);
            }

            return code;
        }

        Activate();
        code = Membership.OnJoin(join!, out error);
        if (code != ThynapseErrorCode.None)
        {
            return code;
        }

        _connections[id] = join!.Sender.Id;

        // The snapshot is taken after what the JOIN changed was broadcast: its number covers those broadcasts, and the
        // local cells' changes not yet flushed, which LocalSnapshot broadcasts first (so it is taken before the number).
        var cells = Cells.LocalSnapshot();
        var answer = new MembersMessage(new StreamHeader(Membership.Id, Membership.Incarnation, _feed.BroadcastSeq), Membership.Snapshot(), cells)
        {
            Auth = _gate?.AnswerAuth(json, Membership.Id, Membership.Incarnation),
        };
        _replies.Send(id, answer.ToFrame());
        TransmitterCounters.Increment(ref _counters.MeshSent);
        return ThynapseErrorCode.None;
    }

    /// <summary>A <c>MEMB</c> answering our <c>JOIN</c> on a command link: a snapshot of the sender's membership and cells.</summary>
    private void OnAnswered(CommandLink link, MembersMessage answer)
    {
        var origin = answer.Header;
        _subscriber.Synced(origin);
        if (link.Attempt is { } attempt)
        {
            Membership.OnAttemptAnswered(attempt, answer);
        }
        else
        {
            Membership.Heard(origin.Id, origin.Incarnation);
            Membership.OnMembers(answer, answer: link.Member == origin.Id);
        }

        // The cells the answer carries: the sender's snapshot, once its record was merged.
        if (answer.Cells is { } snapshot && origin.Id != Membership.Id)
        {
            Cells.ApplySnapshot(origin.Id, snapshot);
        }
    }
}
