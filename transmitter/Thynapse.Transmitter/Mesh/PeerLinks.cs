using System.Net.Sockets;
using NetMQ;
using NetMQ.Sockets;
using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The mesh's sockets (PROTOCOL.md §12.1): a DEALER per followed member, connected to its command socket, on which this
/// transmitter sends its requests (<c>JOIN</c>, <c>PING</c>, <c>PREQ</c>) and hears the answer to <c>JOIN</c>; one SUB
/// connected to every member's event socket, subscribed to the broadcast topic and to this transmitter's THID; and the
/// transmitter's own PUB (<see cref="PeerFeed"/>), on which it publishes its numbered streams. It decodes what arrives,
/// checks the streams' numbers (<see cref="PeerStreams"/>: a gap asks for a snapshot), and hands the messages to
/// <see cref="Membership"/>, whose requests of the network it carries out (<see cref="IPeerTransport"/>).
/// </summary>
/// <remarks>
/// Every socket belongs to the routing thread's poller: added there, read there, closed there (Linger 0: nothing a
/// DEALER holds matters once its member is gone). A transmitter without peers opens none of them and its timer stays
/// disabled; the first seed or the first <c>JOIN</c> from a peer activates the mesh.
/// </remarks>
internal sealed class PeerLinks : IPeerTransport, IDisposable
{
    private const int ReceiveBudget = 1024;

    private readonly TransmitterOptions _options;
    private readonly PeerFeed _feed;
    private readonly NetMQPoller _poller;
    private readonly IFrameSender _replies;
    private readonly StallAwareClock _clock;
    private readonly TransmitterCounters _counters;
    private readonly ILogger _log;
    private readonly LogLimiter _warnings;
    private readonly Action _readCommands;
    private readonly PeerStreams _streams = new();
    private readonly Dictionary<Thid, CommandLink> _links = [];
    private readonly Dictionary<int, CommandLink> _attempts = [];
    private readonly Dictionary<Thid, string> _listening = [];
    private readonly Dictionary<byte[], Thid> _connections = new(ByteArrayComparer.Instance);
    private readonly Dictionary<Thid, long> _snapshotAskedAt = [];
    private readonly SeedResolver _seeds;
    private readonly NetMQTimer _timer;
    private readonly long _pulseInterval;
    private readonly long _snapshotPause;
    private SubscriberSocket? _sub;
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
        _options = options;
        _feed = feed;
        _poller = poller;
        _replies = replies;
        _clock = clock;
        _counters = counters;
        _readCommands = readCommands;
        _log = options.Logger.ForContext<PeerLinks>();
        _warnings = new LogLimiter(_log, () => _clock.Now, _clock.Frequency);
        _pulseInterval = clock.TicksOf(options.Mesh.PulseInterval);
        _snapshotPause = clock.TicksOf(options.Mesh.JoinTimeout);

        // The incarnation grows across restarts of the same THID: the wall clock at start, in milliseconds (§12.4).
        var incarnation = Math.Max(1, options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        Membership = new Membership(id, incarnation, commandEndpoint, feed.Endpoint, options.Mesh, this, clock, options.TimeProvider, counters, options.Logger, new Random());
        // Added now, disabled: NetMQ's poller cannot take a timer while it runs timers (an activation may come from one).
        _timer = new NetMQTimer(options.Mesh.TickInterval) { Enable = false };
        _timer.Elapsed += (_, _) => Guarded("mesh periodic work", OnTick);
        poller.Add(_timer);
        _seeds = new SeedResolver(options.Mesh, clock, poller, _log, _warnings, Membership.AddSeed, () => _disposed);
        Cells = new CellReplica(() => Membership.Incarnation, Serving, clock, options.Mesh.CellTombstoneTime, counters) { Publish = PublishCell };
        Forwarder = new EventForwarder(feed, () => Membership.Id, () => Membership.Incarnation, IncarnationOfServing, options.Mesh.ForwardBufferBytes, counters);
        Inbox = new ForwardInbox(() => Membership.Incarnation, () => _clock.Now, 2 * _pulseInterval, DeliverForwarded,
            (sender, from, through) => SendRequest(sender, new ResendRequest(from, through).ToFrame()), ForwardsLost);
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
        CloseLink(member.Id);
        if (OpenLink(member.CommandEndpoint, $"the command socket of peer {member.Id}", member.Id, attempt: null) is { } link)
        {
            _links[member.Id] = link;
            SendJoin(link);
        }

        Listen(member.Id, member.EventsEndpoint);
    }

    public void Unlink(Member member, bool keepListening)
    {
        CloseLink(member.Id);
        _snapshotAskedAt.Remove(member.Id);
        if (!keepListening)
        {
            StopListening(member.Id);
            _feed.Forget(member.Id);
        }
    }

    public void PushPull(Member member)
    {
        if (_links.TryGetValue(member.Id, out var link))
        {
            SendJoin(link);
        }
    }

    public void StartAttempt(int attempt, string endpoint)
    {
        Activate();
        EndAttempt(attempt);
        if (OpenLink(endpoint, endpoint, member: null, attempt) is { } link)
        {
            _attempts[attempt] = link;
            SendJoin(link);
        }
    }

    public void EndAttempt(int attempt)
    {
        if (_attempts.Remove(attempt, out var link))
        {
            Close(link);
        }
    }

    public void Ping(Member target, ulong nonce, long? suspectedAt) => SendRequest(target.Id, new PingMessage(nonce, suspectedAt).ToFrame());

    public void PingRequest(Member helper, Thid target, ulong nonce) => SendRequest(helper.Id, new PingRequestMessage(nonce, target).ToFrame());

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
        foreach (var link in _links.Values.Concat(_attempts.Values))
        {
            link.Socket.Dispose();
        }

        _links.Clear();
        _attempts.Clear();
        _sub?.Dispose();
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
        _sub = new SubscriberSocket();
        _sub.Options.Linger = TimeSpan.Zero;
        _sub.Options.ReceiveHighWatermark = 100_000; // forwarded events arrive one message per burst of a peer
        _sub.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
        _sub.Options.ReconnectIntervalMax = _options.Mesh.RetryMax;
        Sockets.SecureClient(_sub, _options.CurveCertificate);
        _sub.Subscribe(MeshFrames.BroadcastTopic);
        _sub.Subscribe(Membership.Id.ToString());
        _sub.ReceiveReady += (_, _) => Guarded("reading peers' event sockets", ReadStreams);
        _poller.Add(_sub);
        _timer.Enable = true;
        _nextPulseAt = _clock.Now;
    }

    private void OnTick()
    {
        // Everything that already arrived is read first: a member whose answer waits unread is not silent (§4.4).
        _readCommands();
        _clock.Advance();
        ReadStreams();
        foreach (var link in _links.Values.Concat(_attempts.Values).ToList())
        {
            ReadLink(link);
        }

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

    /// <summary>A member's incarnation while it is alive or suspect (events are forwarded to it), else null.</summary>
    private long? IncarnationOfServing(Thid id) =>
        Membership.TryGet(id, out var member) && member.State is PeerState.Alive or PeerState.Suspect ? member.Incarnation : null;

    /// <summary>A <c>FWRD</c> in its stream's order: its events go to the local cells.</summary>
    private void DeliverForwarded(Thid sender, byte[] records)
    {
        if (Forwarded is { } router && !router.Deliver(sender, records, out var error))
        {
            Malformed($"a FWRD of peer {sender}", error!);
        }
    }

    private void ForwardsLost(Thid sender, long lost)
    {
        TransmitterCounters.Add(ref _counters.MeshForwardsLost, lost);
        if (_warnings.Allow(WarningKind.PeerStreamGap))
        {
            _log.Warning("Lost {Lost} message(s) of forwarded events from peer {PeerId}: past its retransmit buffer, or it did not answer; counted in thynapse.mesh.forwards.lost",
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

        // Admission: the place of the cluster secret (DESIGN-BRIEF §6). Mesh protocol 1 admits any well-formed JOIN: a
        // peer proves it is a transmitter by speaking the mesh protocol, and no cell command works on its connection.
        Activate();
        code = Membership.OnJoin(join!, out error);
        if (code != ThynapseErrorCode.None)
        {
            return code;
        }

        var id = routingId.ToArray();
        _connections[id] = join!.Sender.Id;

        // The snapshot is taken after what the JOIN changed was broadcast: its number covers those broadcasts.
        var answer = new MembersMessage(new StreamHeader(Membership.Id, Membership.Incarnation, _feed.BroadcastSeq), Membership.Snapshot(), Cells.LocalSnapshot());
        _replies.Send(id, answer.ToFrame());
        TransmitterCounters.Increment(ref _counters.MeshSent);
        return ThynapseErrorCode.None;
    }

    private CommandLink? OpenLink(string endpoint, string what, Thid? member, int? attempt)
    {
        var dealer = new DealerSocket();
        try
        {
            dealer.Options.Linger = TimeSpan.Zero;
            dealer.Options.SendHighWatermark = 1000;
            dealer.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
            dealer.Options.ReconnectIntervalMax = _options.Mesh.RetryMax;
            dealer.Options.IPv4Only = !endpoint.Contains('[', StringComparison.Ordinal);
            Sockets.SecureClient(dealer, _options.CurveCertificate);
            var link = new CommandLink(dealer, endpoint, member, attempt);
            dealer.ReceiveReady += (_, _) => Guarded("reading a peer's answer", () =>
            {
                _clock.Advance();
                ReadLink(link);
            });
            dealer.Connect(endpoint);
            _poller.Add(dealer);
            return link;
        }
        catch (Exception ex) when (ex is NetMQException or SocketException or ArgumentException)
        {
            dealer.Dispose();
            if (_warnings.Allow(WarningKind.PeerUnreachable))
            {
                _log.Warning("Could not connect to {What} at {Endpoint}: {Reason}", what, endpoint, ex.Message);
            }

            return null;
        }
    }

    private void Close(CommandLink link)
    {
        // Safe inside the socket's own handler: a closed socket raises no further events in this poll (NetMQ checks).
        link.Closed = true;
        if (_poller.IsRunning)
        {
            _poller.RemoveAndDispose(link.Socket);
        }
        else
        {
            link.Socket.Dispose();
        }
    }

    private void CloseLink(Thid id)
    {
        if (_links.Remove(id, out var link))
        {
            Close(link);
        }
    }

    private void Listen(Thid id, string endpoint)
    {
        if (_listening.TryGetValue(id, out var current))
        {
            if (current == endpoint)
            {
                return;
            }

            StopListening(id);
        }

        try
        {
            _sub!.Options.IPv4Only = !endpoint.Contains('[', StringComparison.Ordinal);
            _sub.Connect(endpoint);
            _listening[id] = endpoint;
        }
        catch (Exception ex) when (ex is NetMQException or SocketException or ArgumentException)
        {
            if (_warnings.Allow(WarningKind.PeerUnreachable))
            {
                _log.Warning("Could not subscribe to the event socket of peer {PeerId} at {Endpoint}: {Reason}", id, endpoint, ex.Message);
            }
        }
    }

    private void StopListening(Thid id)
    {
        if (_listening.Remove(id, out var endpoint))
        {
            try
            {
                _sub!.Disconnect(endpoint);
            }
            catch (EndpointNotFoundException)
            {
                // Never connected (NetMQ refused it): nothing to undo.
            }

            _streams.Forget(id);
        }
    }

    private void SendJoin(CommandLink link) => Send(link, Membership.CreateJoin().ToFrame());

    private void SendRequest(Thid to, byte[] frame)
    {
        if (_links.TryGetValue(to, out var link))
        {
            Send(link, frame);
        }
    }

    private void Send(CommandLink link, byte[] frame)
    {
        // A full queue (the peer is unreachable) drops the request: its probe fails, a JOIN is retried.
        if (link.Socket.TrySendFrame(TimeSpan.Zero, frame))
        {
            TransmitterCounters.Increment(ref _counters.MeshSent);
        }
    }

    /// <summary>Answers on a command link: <c>MEMB</c> (to our <c>JOIN</c>) or <c>ERRR</c>.</summary>
    private void ReadLink(CommandLink link)
    {
        var dealer = link.Socket;
        for (var i = 0; i < ReceiveBudget && !link.Closed && dealer.TryReceiveFrameBytes(TimeSpan.Zero, out var frame, out var more); i++)
        {
            while (more && dealer.TryReceiveFrameBytes(TimeSpan.Zero, out _, out more))
            {
            }

            TransmitterCounters.Increment(ref _counters.MeshReceived);
            if (frame.Length >= FrameHeader.PrefixLength && frame.AsSpan(2, 4).SequenceEqual("ERRR"u8))
            {
                OnRefused(link, frame);
                continue;
            }

            if (!MeshFrames.TryParse(frame, out var command, out var json, out var error) || command != MeshCommand.Memb
                || !MembersMessage.TryRead(json!, out var answer, out error))
            {
                Malformed("an answer on a command link", error ?? $"expected MEMB, got {MeshCommands.Of(command)}");
                continue;
            }

            var origin = answer!.Header;
            _streams.Synced(origin.Id, origin.Incarnation, origin.Seq);
            _snapshotAskedAt.Remove(origin.Id);
            if (link.Attempt is { } attempt)
            {
                Membership.OnAttemptAnswered(attempt, answer);
                ApplyCells(answer);
                continue; // the attempt's socket is closed now: the loop ends
            }

            Membership.Heard(origin.Id, origin.Incarnation);
            Membership.OnMembers(answer, answer: link.Member == origin.Id);
            ApplyCells(answer);
        }
    }

    /// <summary>The cells a <c>MEMB</c> answer carries: the sender's snapshot, once its record was merged.</summary>
    private void ApplyCells(MembersMessage answer)
    {
        if (answer.Cells is { } snapshot && answer.Header.Id != Membership.Id)
        {
            Cells.ApplySnapshot(answer.Header.Id, snapshot);
        }
    }

    private void OnRefused(CommandLink link, byte[] frame)
    {
        var text = System.Text.Encoding.UTF8.GetString(frame, Math.Min(frame.Length, FrameHeader.PayloadOffset), Math.Max(0, frame.Length - FrameHeader.PayloadOffset));
        var json = JsonPayload.TryParse(frame.AsSpan(Math.Min(frame.Length, FrameHeader.PayloadOffset)), out var parsed, out _) ? parsed : null;
        var code = json?["code"] is JValue { Type: JTokenType.Integer } c ? (int)c : (int?)null;
        var refused = json?["command"] is JValue { Type: JTokenType.String } n ? (string?)n : null;
        if (_warnings.Allow(WarningKind.PeerRefused))
        {
            _log.Warning("Peer {Peer} refused {Command}: {Reason}", link.Member?.ToString() ?? $"at {link.Endpoint}", refused ?? "a request", text);
        }

        // A peer that restarted on the same endpoint does not know this connection (ZeroMQ reconnected it unseen):
        // prove it again. Never for a refused JOIN, which would loop with a transmitter that speaks no mesh.
        if (code == (int)ThynapseErrorCode.UnknownCommand && refused is "PING" or "PREQ" && link.Member is not null)
        {
            SendJoin(link);
        }
    }

    /// <summary>Reads the peers' streams (SUB): pulses, broadcast records, directed answers.</summary>
    private void ReadStreams()
    {
        if (_sub is null)
        {
            return;
        }

        _clock.Advance();
        var read = 0;
        for (; read < ReceiveBudget && _sub.TryReceiveFrameBytes(TimeSpan.Zero, out var topic, out var more); read++)
        {
            byte[]? header = null;
            byte[]? body = null;
            if (more && _sub.TryReceiveFrameBytes(TimeSpan.Zero, out header, out more) && more
                && _sub.TryReceiveFrameBytes(TimeSpan.Zero, out body, out more))
            {
                while (more && _sub.TryReceiveFrameBytes(TimeSpan.Zero, out _, out more))
                {
                }
            }

            TransmitterCounters.Increment(ref _counters.MeshReceived);
            if (header is null)
            {
                Malformed("a peer's event socket", "a message of one frame (a topic and a header are two)");
                continue;
            }

            OnStreamMessage(topic, header, body);
        }

        if (read > 0)
        {
            AfterStreams?.Invoke();
        }
    }

    private void OnStreamMessage(byte[] topic, byte[] frame, byte[]? body)
    {
        if (!MeshFrames.TryParse(frame, out var command, out var json, out var error))
        {
            Malformed("a peer's event socket", error!);
            return;
        }

        var directed = !topic.AsSpan().SequenceEqual("$mesh"u8);
        switch (command)
        {
            case MeshCommand.Puls when !directed && PulseMessage.TryRead(json!, out var pulse, out error):
                var h = pulse!.Header;
                if (h.Id == Membership.Id || _streams.ObservePulse(h.Id, h.Incarnation, StreamKind.Broadcast, h.Seq, out var lost) == StreamVerdict.Stale)
                {
                    return;
                }

                if (lost > 0)
                {
                    Gap(h, StreamKind.Broadcast, lost);
                }

                if (pulse.Directed.TryGetValue(Membership.Id, out var last) && _streams.ObservePulse(h.Id, h.Incarnation, StreamKind.Directed, last, out lost) == StreamVerdict.Gap)
                {
                    Gap(h, StreamKind.Directed, lost);
                }

                if (pulse.Forward.TryGetValue(Membership.Id, out var forward))
                {
                    Inbox.Pulse(h.Id, h.Incarnation, forward.To, forward.Last);
                }

                Membership.Heard(h.Id, h.Incarnation);
                return;
            case MeshCommand.Memb when !directed && MembersMessage.TryRead(json!, out var members, out error):
                if (!Sequenced(members!.Header, StreamKind.Broadcast))
                {
                    return;
                }

                Membership.Heard(members.Header.Id, members.Header.Incarnation);
                Membership.OnMembers(members, answer: false);
                return;
            case MeshCommand.Cels when !directed && CellsMessage.TryRead(json!, out var cells, out error):
                if (!Sequenced(cells!.Header, StreamKind.Broadcast))
                {
                    return;
                }

                Membership.Heard(cells.Header.Id, cells.Header.Incarnation);
                Cells.Apply(cells.Header.Id, cells.Cells);
                return;
            case MeshCommand.Fwrd when directed && body is not null && ForwardMessage.TryRead(json!, out var forwarded, out error):
                if (forwarded.Header.Id == Membership.Id)
                {
                    return;
                }

                Membership.Heard(forwarded.Header.Id, forwarded.Header.Incarnation);
                Inbox.Receive(forwarded.Header.Id, forwarded.Header.Incarnation, forwarded.To, forwarded.Header.Seq, body);
                return;
            case MeshCommand.Gone when directed && GoneMessage.TryRead(json!, out var gone, out error):
                Membership.Heard(gone.Header.Id, gone.Header.Incarnation);
                Inbox.Gone(gone.Header.Id, gone.Header.Incarnation, gone.To, gone.From, gone.Through);
                return;
            case MeshCommand.Pong or MeshCommand.Pnak when directed && ProbeAnswer.TryRead(json!, out var answer, out error):
                if (!Sequenced(answer.Header, StreamKind.Directed))
                {
                    return;
                }

                Membership.Heard(answer.Header.Id, answer.Header.Incarnation);
                Membership.OnAnswer(command, answer.Nonce);
                return;
            default:
                Malformed("a peer's event socket", error ?? $"{MeshCommands.Of(command)} does not travel on {(directed ? "a directed" : "the broadcast")} topic");
                return;
        }
    }

    /// <summary>Checks a message's number in its stream; false when it is from an old incarnation (or from ourselves).</summary>
    private bool Sequenced(StreamHeader header, StreamKind kind)
    {
        if (header.Id == Membership.Id)
        {
            return false;
        }

        var verdict = _streams.Observe(header.Id, header.Incarnation, kind, header.Seq, out var lost);
        if (verdict == StreamVerdict.Gap)
        {
            Gap(header, kind, lost);
        }

        return verdict != StreamVerdict.Stale;
    }

    /// <summary>
    /// Messages of a stream were lost. A broadcast gap is repaired with a snapshot (a <c>JOIN</c>, answered with the
    /// whole membership as of a number past the gap). The directed stream carries only probe answers in this version,
    /// which are not repaired (a lost one fails its probe, which the indirect probes make up for); the gap is counted.
    /// </summary>
    private void Gap(StreamHeader header, StreamKind kind, long lost)
    {
        TransmitterCounters.Add(ref _counters.MeshGaps, lost);
        if (_warnings.Allow(WarningKind.PeerStreamGap))
        {
            _log.Warning("Lost {Lost} message(s) of peer {PeerId}'s {Stream} stream (before number {Seq}){Repair}",
                lost, header.Id, kind == StreamKind.Broadcast ? "broadcast" : "directed", header.Seq,
                kind == StreamKind.Broadcast ? "; asking it for a snapshot" : "");
        }

        if (kind == StreamKind.Broadcast && _links.TryGetValue(header.Id, out var link)
            && (!_snapshotAskedAt.TryGetValue(header.Id, out var askedAt) || _clock.Now - askedAt >= _snapshotPause))
        {
            _snapshotAskedAt[header.Id] = _clock.Now;
            TransmitterCounters.Increment(ref _counters.MeshSnapshots);
            SendJoin(link);
        }
    }

    private void Malformed(string where, string reason)
    {
        TransmitterCounters.Increment(ref _counters.MeshMalformed);
        if (_warnings.Allow(WarningKind.PeerRefused))
        {
            _log.Warning("Ignored a malformed mesh message on {Where}: {Reason}", where, reason);
        }
    }

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

    /// <summary>A DEALER to a peer's command socket: a followed member's link, or a join attempt's.</summary>
    private sealed class CommandLink(DealerSocket socket, string endpoint, Thid? member, int? attempt)
    {
        public DealerSocket Socket { get; } = socket;

        public string Endpoint { get; } = endpoint;

        public Thid? Member { get; } = member;

        public int? Attempt { get; } = attempt;

        public bool Closed { get; set; }
    }
}
