using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Discovery;
using Thynapse.Transmitter.Mesh;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Reliability;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Commands;

/// <summary>
/// The routing thread's front door: checks each inbound message's frames, header and session state, and hands the
/// command to the engine that owns it (PROTOCOL.md §5). It builds the engines, owns the one routing clock (advanced
/// once per burst, from the timestamp read when the burst began, and again every 64 messages of a long one) and turns a bug into
/// <c>INTERNAL_ERROR</c> for that sender while everyone else keeps being served. See ARCHITECTURE.md.
/// </summary>
/// <remarks>
/// The engines, lowest first; each depends only on those before it:
/// <see cref="CreditPacer"/> and <see cref="CellOutput"/> (what goes out to cells), <see cref="Responder"/> (answers and
/// refusals), <see cref="CellDirectory"/> (who is here), <see cref="AnycatchTracker"/> (acknowledged anycatch),
/// <see cref="EventRouter"/> (events), <see cref="SubscriptionManager"/>, <see cref="CellDiscovery"/> and
/// <see cref="SessionLifecycle"/>, which ends sessions by telling the others in a fixed order. Two calls go the other
/// way as delegates set at construction: the output reports a vanished peer (the lifecycle ends its session) and the
/// tracker routes dead letters (through the router).
/// </remarks>
internal sealed class CommandProcessor
{
    /// <summary>
    /// The ROUTER socket's disconnect message (ZMQ_DISCONNECT_MSG): a frame no cell can send by accident, since
    /// its first byte is not an encoding id.
    /// </summary>
    public static readonly byte[] DisconnectMarker = "\0thynapse:disconnected"u8.ToArray();

    private readonly TransmitterOptions _options;
    private readonly TransmitterCounters _counters;
    private readonly ILogger _log;
    private readonly LogLimiter _warnings;
    private readonly StallAwareClock _clock;
    private readonly Wire.HandshakeDeadlines? _handshakes;
    private readonly Func<byte[], bool> _welcomed = _ => true;

    /// <summary>Messages handled since the clock was last read from the <see cref="TimeProvider"/> itself.</summary>
    private int _sinceClockRead;

    /// <summary>The delivery count when the clock was last read.</summary>
    private long _deliveriesAtClockRead;

    /// <summary>
    /// A burst also re-reads the clock after this many deliveries: 64 messages that each fan out to thousands of
    /// cells take longer than the clock's largest step. (Other heavy work, a LIST of many cells, is not weighed.)
    /// </summary>
    private const int ClockReadDeliveries = 1024;

    /// <summary>
    /// A burst re-reads the clock after this many messages. The transmitter passes the timestamp read when a burst
    /// began; a burst of expensive messages (fan-out to thousands of cells, large LISTs) can outlast the clock's
    /// largest step, and that busy time would then count as a stall: liveness, ack deadlines and slow-cell graces would
    /// stand still while the thread works. A timestamp costs some 20 ns; every 64 messages it is lost in the noise.
    /// </summary>
    private const int ClockReadInterval = 64;
    private readonly CellDirectory _directory = new();
    private readonly RouteTable _routes = new();
    private readonly CreditPacer _credit;
    private readonly CellOutput _output;
    private readonly Responder _responder;
    private readonly AnycatchTracker _tracker;
    private readonly EventRouter _router;
    private readonly SubscriptionManager _subscriptions;
    private readonly CellDiscovery _discovery;
    private readonly SessionLifecycle _sessions;
    private readonly ReceiverSink _sink;
    private readonly ForwardedRouter _forwarded;
    private readonly AnycatchRelay _relay;

    public CommandProcessor(
        TransmitterOptions options,
        Thid id,
        string commandEndpoint,
        string eventsEndpoint,
        IFrameSender sender,
        TransmitterCounters counters)
    {
        _options = options;
        _counters = counters;
        _log = options.Logger.ForContext<CommandProcessor>();
        _clock = new StallAwareClock(options.TimeProvider, options.MaxClockStep);
        _warnings = new LogLimiter(_log, () => _clock.Now, _clock.Frequency);
        _credit = new CreditPacer(sender, options, counters);
        _output = new CellOutput(sender, options, counters, _clock, _warnings, _log, _credit, gone: cell => _sessions!.Remove(cell, SessionEnd.Disconnected));
        _responder = new Responder(_output, counters, _warnings, _log);
        var sink = _sink = new ReceiverSink(_output, counters);
        OutcomeSender answer = (ingress, cell, tag, outcome, reason) => sink.Forwarder?.Outcome(ingress, cell, tag, outcome, reason);
        LoadSender reportLoad = (ingress, subscription, seenOf) => sink.Forwarder?.Load(ingress, subscription.Receiver.Profile.IdBytes, subscription.Id, subscription.Load, seenOf);
        _relay = new AnycatchRelay(() => _clock.Now, answer, reportLoad);
        _tracker = new AnycatchTracker(options, counters, _clock, _warnings, _log, _routes, sink, _output, _directory, _responder, _relay);
        _forwarded = new ForwardedRouter(_routes, _output, _directory, _tracker, _relay, answer, counters);
        _router = new EventRouter(options, counters, _routes, sink, _output, _credit, _tracker, _directory, _responder);
        _subscriptions = new SubscriptionManager(options, counters, _routes, _tracker, _responder);
        _discovery = new CellDiscovery(options, id, _directory, _output, _responder);
        _sessions = new SessionLifecycle(options, new TransmitterIdentity(id, commandEndpoint, eventsEndpoint), counters, _clock, _warnings, _log,
            _directory, _subscriptions, _tracker, _output, _credit, _responder);
    }

    /// <summary>Where a connection comes from, for the per-source limit on failed attempts (<see cref="SessionLifecycle.SourceOf"/>).</summary>
    internal Wire.SourceOf? SourceOf
    {
        get => _sessions.SourceOf;
        set => _sessions.SourceOf = value;
    }

    /// <summary>
    /// The connection behind a routing id: set, connections that talk without a valid <c>HELO</c> for
    /// <see cref="TransmitterOptions.HandshakeTimeout"/> are shut down (<see cref="Wire.HandshakeDeadlines"/>).
    /// </summary>
    internal Wire.ConnectionOf? ConnectionOf
    {
        init
        {
            if (value is not null)
            {
                _handshakes = new Wire.HandshakeDeadlines(_options.HandshakeTimeout, _clock.Frequency, value, _counters, _warnings, _log);
                _welcomed = routingId => _directory.TryGetByRoutingId(routingId, out _);
            }
        }
    }

    /// <summary>Connections talking without a session, now (tests).</summary>
    internal int Unwelcomed => _handshakes?.Count ?? 0;

    /// <summary>The routing thread's clock (time the thread did not run is not counted, §4.4).</summary>
    internal StallAwareClock Clock => _clock;

    /// <summary>Time the routing thread did not run, not counted against cells.</summary>
    internal TimeSpan StalledFor => _clock.SpanOf(_clock.Stalled);

    /// <summary>The cells with a session here.</summary>
    internal CellDirectory Directory => _directory;

    /// <summary>Sessions: the mesh tells them of the known transmitters.</summary>
    internal SessionLifecycle Sessions => _sessions;

    /// <summary>Discovery (LIST, WTCH), which the mesh's replica joins.</summary>
    internal CellDiscovery Discovery => _discovery;

    /// <summary>
    /// The mesh, which takes the transmitter mesh's requests on the command socket (PROTOCOL.md §12): reached only for
    /// commands that are not a cell's and for closed connections without a session, never on the cells' path. Null in
    /// tests that drive the processor alone: mesh commands are then refused as from a connection that is not a peer.
    /// </summary>
    internal PeerLinks? Mesh { get; set; }

    internal RouteTable Routes => _routes;

    /// <summary>Where routed events go: local cells, and the mesh's forward streams (<see cref="ReceiverSink.Forwarder"/>).</summary>
    internal ReceiverSink Sink => _sink;

    /// <summary>Deliveries other transmitters track, held by local cells (their answers are relayed back).</summary>
    internal AnycatchRelay Relay => _relay;

    /// <summary>Acknowledged anycatch: what is in flight, queued, redelivered.</summary>
    internal AnycatchTracker Tracker => _tracker;

    /// <summary>Delivers what peers forwarded to the local cells.</summary>
    internal ForwardedRouter Forwarded => _forwarded;

    /// <summary>Subscriptions, whose changes the mesh's replica publishes.</summary>
    internal SubscriptionManager Subscriptions => _subscriptions;

    /// <summary>True while some cell has a backlog or is owed credit: the routing thread retries every millisecond.</summary>
    public bool HasBacklog => _output.HasBacklog || _credit.HasOwed;

    /// <summary>
    /// Handles one message: <paramref name="frames"/> counts the frames after the routing id, and
    /// <paramref name="largestExtraFrame"/> is the size of the largest frame after the second. <paramref name="rawNow"/>
    /// is a timestamp of the transmitter's <see cref="TimeProvider"/>, read when the burst began; every
    /// <see cref="ClockReadInterval"/> messages the processor reads a fresh one.
    /// </summary>
    public void Handle(ReadOnlySpan<byte> routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, int frames, int largestExtraFrame, long rawNow)
    {
        var now = ++_sinceClockRead < ClockReadInterval && _counters.Deliveries - _deliveriesAtClockRead < ClockReadDeliveries ? _clock.Advance(rawNow) : ReadClock();
        _directory.TryGetByRoutingId(routingId, out var cell);
        if (cell is not null)
        {
            cell.LastSeen = now;
        }
        else
        {
            _handshakes?.Heard(routingId, now);
        }

        try
        {
            Dispatch(routingId, cell, header, body, frames, largestExtraFrame);
        }
        catch (Exception ex)
        {
            // Our bug, not the sender's: report it to the sender and keep serving everyone else.
            _log.Error(ex, "Failed to handle a command from {RoutingId}", Convert.ToHexString(routingId));
            _responder.Reject(routingId, cell, Command.Unknown, ThynapseErrorCode.InternalError, "the transmitter failed to handle this command", commandName: CommandLetters(header));
        }
    }

    private long ReadClock()
    {
        _sinceClockRead = 0;
        _deliveriesAtClockRead = _counters.Deliveries;
        return _clock.Advance();
    }

    /// <summary>The end of a burst: sends everything batched during it, then tops up publishers' credit.</summary>
    public void FlushDirty()
    {
        _router.EndBurst();
        _relay.ReportLoads();
        Mesh?.Cells.FlushLocal(); // before the answers: a cell told OKAY to a SUBS has its interest on its way to the peers
        _sink.Forwarder?.Flush();
        _output.FlushDirty();
        _credit.GrantAll();
    }

    /// <summary>
    /// Periodic work: liveness (judged on the routing clock, which does not count time the routing thread itself was
    /// stalled, §4.4), owed <c>SLOW</c> notices, departed cells, and summaries of suppressed warnings.
    /// <paramref name="rawNow"/> is a timestamp of the <see cref="TimeProvider"/>.
    /// </summary>
    public void Tick(long rawNow)
    {
        _clock.Advance(rawNow);
        if (_clock.Stalled != TransmitterCounters.Read(ref _counters.RoutingStalledTicks))
        {
            _log.Information("The routing thread did not run for {Stall} (GC, CPU starvation or a stopped process); that time is not counted against any cell",
                _clock.SpanOf(_clock.Stalled - TransmitterCounters.Read(ref _counters.RoutingStalledTicks)));
            Volatile.Write(ref _counters.RoutingStalledTicks, _clock.Stalled);
        }

        _sessions.Tick();
        _handshakes?.Tick(_clock.Now, _welcomed);
        _relay.Tick();
        if (_sink.Forwarder is not null)
        {
            _relay.GossipLoads(_tracker.Holding); // a transmitter in a mesh tells the others its cells' loads
        }
        _warnings.Tick();
    }

    /// <summary>Redelivers what was not acknowledged in time (called from the routing thread's timer).</summary>
    public void SweepAckDeadlines(long rawNow)
    {
        _clock.Advance(rawNow);
        _tracker.SweepAckDeadlines();
    }

    /// <summary>Sends what waits in cells' backlogs while their queues take it, and credit owed to full queues.</summary>
    public void RetryBacklogs(long rawNow)
    {
        _clock.Advance(rawNow);
        _output.RetryBacklogs();
        _credit.RetryOwed();
    }

    /// <summary>Tells every cell the transmitter is going away.</summary>
    public void Shutdown()
    {
        _clock.Advance();
        _sessions.Shutdown();
    }

    private void Dispatch(ReadOnlySpan<byte> routingId, LocalCell? cell, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, int frames, int largestExtraFrame)
    {
        if (frames == 1 && header.SequenceEqual(DisconnectMarker))
        {
            if (cell is not null)
            {
                _sessions.Remove(cell, SessionEnd.Disconnected);
            }
            else
            {
                Mesh?.Disconnected(routingId);
            }

            _handshakes?.Gone(routingId);
            return;
        }

        var largest = Math.Max(header.Length, Math.Max(body.Length, largestExtraFrame));
        if (largest > _options.MaxFrameBytes)
        {
            _responder.Reject(routingId, cell, Command.Unknown, ThynapseErrorCode.FrameTooLarge, $"a frame of {largest} bytes exceeds the limit of {_options.MaxFrameBytes}", commandName: CommandLetters(header));
            return;
        }

        var code = FrameHeader.TryParse(header, out var encoding, out var command, out var payload, out var error);
        if (code != ThynapseErrorCode.None)
        {
            _responder.Reject(routingId, cell, Command.Unknown, code, error!, commandName: CommandLetters(header));
            return;
        }

        if (!IsCellCommand(command, header, out error))
        {
            if (command == Command.Unknown && MeshCommands.Parse(header.Slice(2, 4)) is var mesh and not MeshCommand.None)
            {
                _handshakes?.Mesh(routingId);
                HandleMeshCommand(routingId, cell, mesh, encoding, payload, frames);
                return;
            }

            _responder.Reject(routingId, cell, command, ThynapseErrorCode.UnknownCommand, error, commandName: CommandLetters(header));
            return;
        }

        if (encoding == Encodings.Binary && command is not (Command.Evnt or Command.Ackn))
        {
            _responder.Reject(routingId, cell, command, ThynapseErrorCode.UnknownCommand, $"encoding B defines only EVNT and ACKN from cells; send {CommandNames.Of(command)} as J");
            return;
        }

        var allowedFrames = command == Command.Evnt && encoding == Encodings.Json ? 2 : 1;
        if (frames > allowedFrames)
        {
            _responder.Reject(routingId, cell, command, ThynapseErrorCode.UnexpectedFrames, $"{(char)encoding} {CommandNames.Of(command)} takes at most {allowedFrames} frame(s), this message has {frames}");
            return;
        }

        // A J payload is read before the session state is checked, so that every later refusal can echo its 'ref'.
        JObject? json = null;
        if (encoding == Encodings.Json)
        {
            if (header.Length > _options.MaxHeaderBytes)
            {
                _responder.Reject(routingId, cell, command, ThynapseErrorCode.HeaderTooLarge, $"a J header of {header.Length} bytes exceeds the limit of {_options.MaxHeaderBytes}");
                return;
            }

            if (!JsonPayload.TryParse(payload, out json, out error))
            {
                _responder.Reject(routingId, cell, command, ThynapseErrorCode.InvalidJson, error);
                return;
            }
        }

        if (command == Command.Helo ? cell is not null : cell is null)
        {
            if (cell is null && encoding == Encodings.Binary && command == Command.Evnt)
            {
                _router.RejectUnwelcomedEvents(routingId, payload);
                return;
            }

            _responder.Reject(routingId, cell, command, cell is null ? ThynapseErrorCode.NotWelcomed : ThynapseErrorCode.AlreadyWelcomed,
                cell is null ? "send HELO first" : "this connection already has a session", json);
            return;
        }

        if (command == Command.Evnt)
        {
            _credit.Use(cell!, header.Length + body.Length); // every EVNT message counts, accepted or not (§8.4)
        }

        if (json is null)
        {
            if (command == Command.Evnt)
            {
                _router.HandleBinaryEvents(cell!, payload);
            }
            else
            {
                _tracker.HandleAcks(cell!, payload);
            }

            return;
        }

        switch (command)
        {
            case Command.Helo:
                _sessions.HandleHelo(routingId, json);
                break;
            case Command.Evnt:
                _router.HandleJsonEvent(cell!, json, body);
                break;
            case Command.Subs:
                _subscriptions.HandleSubscribe(cell!, json);
                break;
            case Command.Unsb:
                _subscriptions.HandleUnsubscribe(cell!, json);
                break;
            case Command.Ackn:
                _tracker.HandleJsonAck(cell!, json);
                break;
            case Command.Meta:
                _discovery.HandleMeta(cell!, json);
                break;
            case Command.List:
                _discovery.HandleList(cell!, json);
                break;
            case Command.Wtch:
                _discovery.HandleWatch(cell!, json);
                break;
            case Command.Unwt:
                _discovery.HandleUnwatch(cell!, json);
                break;
            case Command.Nack:
                _tracker.HandleNack(cell!, json);
                break;
            case Command.Prog:
                _tracker.HandleProgress(cell!, json);
                break;
            case Command.Beat:
                _responder.Reply(cell!, HeartbeatMessage.Instance);
                break;
            case Command.Gbye:
                _sessions.HandleGoodbye(cell!);
                break;
        }
    }

    /// <summary>
    /// A transmitter mesh command on the command socket (PROTOCOL.md §12.3): a peer's request, checked here as every
    /// command is, then handed to the mesh. From a cell's session it is refused with <c>UNKNOWN_COMMAND</c>, as every
    /// transmitter-only command is (§7); the mesh refuses requests other than <c>JOIN</c> from a connection that has not
    /// joined. A mesh message may take the whole frame limit (a <c>JOIN</c> lists every member), not only the header limit.
    /// </summary>
    private void HandleMeshCommand(ReadOnlySpan<byte> routingId, LocalCell? cell, MeshCommand command, byte encoding, ReadOnlySpan<byte> payload, int frames)
    {
        var name = MeshCommands.Of(command);
        if (cell is not null)
        {
            _responder.Reject(routingId, cell, Command.Unknown, ThynapseErrorCode.UnknownCommand,
                $"{name} is a transmitter mesh command (PROTOCOL.md §12); a cell cannot send it", commandName: name);
            return;
        }

        if (!MeshCommands.IsRequest(command) || encoding != Encodings.Json)
        {
            _responder.Reject(routingId, null, Command.Unknown, ThynapseErrorCode.UnknownCommand, MeshCommands.IsRequest(command)
                ? $"{name} is defined only as J (PROTOCOL.md §12)"
                : $"{name} travels on a transmitter's event socket or back on a link, never to a command socket (PROTOCOL.md §12)", commandName: name);
            return;
        }

        if (frames > 1)
        {
            _responder.Reject(routingId, null, Command.Unknown, ThynapseErrorCode.UnexpectedFrames, $"J {name} takes 1 frame, this message has {frames}", commandName: name);
            return;
        }

        if (!JsonPayload.TryParse(payload, out var json, out var error))
        {
            _responder.Reject(routingId, null, Command.Unknown, ThynapseErrorCode.InvalidJson, error, commandName: name);
            return;
        }

        var code = ThynapseErrorCode.UnknownCommand;
        error = $"{name} is a transmitter mesh command (PROTOCOL.md §12): a transmitter sends JOIN first on its connection, and a cell cannot send it";
        if (Mesh is { } mesh)
        {
            code = mesh.HandleRequest(routingId, command, json, out error);
        }

        if (code != ThynapseErrorCode.None)
        {
            _responder.Reject(routingId, null, Command.Unknown, code, error!, json, commandName: name);
        }
    }

    private static bool IsCellCommand(Command command, ReadOnlySpan<byte> header, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        error = null;
        switch (command)
        {
            case Command.Helo or Command.Evnt or Command.Subs or Command.Unsb or Command.Ackn or Command.Nack or Command.Beat or Command.Gbye
                or Command.Meta or Command.List or Command.Wtch or Command.Unwt or Command.Prog:
                return true;
            case Command.Unknown:
                error = $"unknown command '{System.Text.Encoding.ASCII.GetString(header.Slice(2, 4))}'";
                return false;
            default:
                error = $"{CommandNames.Of(command)} is sent by transmitters, not cells";
                return false;
        }
    }

    /// <summary>
    /// Bytes 2–5 of a header frame when they are four letters <c>A</c>–<c>Z</c>, else null: what <c>ERRR.command</c>
    /// names when the header was refused before its command was known (PROTOCOL.md §5.11). Only on error paths.
    /// </summary>
    private static string? CommandLetters(ReadOnlySpan<byte> header)
    {
        if (header.Length < FrameHeader.PrefixLength)
        {
            return null;
        }

        var name = header.Slice(2, 4);
        foreach (var b in name)
        {
            if (b is < (byte)'A' or > (byte)'Z')
            {
                return null;
            }
        }

        return System.Text.Encoding.ASCII.GetString(name);
    }
}
