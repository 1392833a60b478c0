using Thynapse.Core.Internal;
using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Commands;

/// <summary>
/// Everything a transmitter does with one inbound message: check the frames, the header and the session state,
/// then run the command (PROTOCOL.md §5). Lives on the routing thread; the one try/catch around each message
/// turns a bug into <c>INTERNAL_ERROR</c> for that sender and keeps everyone else served.
/// </summary>
internal sealed partial class CommandProcessor
{
    /// <summary>
    /// The ROUTER socket's disconnect message (ZMQ_DISCONNECT_MSG): a frame no cell can send by accident, since
    /// its first byte is not an encoding id.
    /// </summary>
    public static readonly byte[] DisconnectMarker = "\0thynapse:disconnected"u8.ToArray();

    private readonly TransmitterOptions _options;
    private readonly Thid _id;
    private readonly string _commandEndpoint;
    private readonly string _eventsEndpoint;
    private readonly IFrameSender _sender;
    private readonly TransmitterCounters _counters;
    private readonly ILogger _log;
    private readonly LogLimiter _warnings;
    private readonly StallAwareClock _clock;
    private readonly SessionRegistry _sessions = new();
    private readonly DepartedCells _departed;
    private readonly RouteTable _routes = new();
    private readonly TargetCache _targets;
    private readonly List<CellSession> _dirty = [];
    private readonly long _livenessTicks;
    private readonly long _slowNoticeTicks;
    private readonly long _fullQueueGraceTicks;
    private readonly long _slowCellPauseTicks;
    private bool _shuttingDown;

    public CommandProcessor(
        TransmitterOptions options,
        Thid id,
        string commandEndpoint,
        string eventsEndpoint,
        IFrameSender sender,
        TransmitterCounters counters)
    {
        _options = options;
        _id = id;
        _commandEndpoint = commandEndpoint;
        _eventsEndpoint = eventsEndpoint;
        _sender = sender;
        _counters = counters;
        _log = options.Logger.ForContext<CommandProcessor>();
        _clock = new StallAwareClock(options.TimeProvider, options.MaxClockStep);
        _now = _clock.Now;
        _warnings = new LogLimiter(_log, () => _clock.Now, _clock.Frequency);
        _targets = new TargetCache(options.QueryLimits);
        _livenessTicks = _clock.TicksOf(options.LivenessTimeout);
        _slowNoticeTicks = _clock.TicksOf(SlowNoticeInterval);
        _fullQueueGraceTicks = _clock.TicksOf(options.FullQueueGrace);
        _slowCellPauseTicks = _clock.TicksOf(SlowCellPause);
        _departed = new DepartedCells(options.MaxDepartedCells, _clock.TicksOf(options.DepartedCellMemory));
    }

    /// <summary>The routing thread's clock (time the thread did not run is not counted, §4.4).</summary>
    internal StallAwareClock Clock => _clock;

    /// <summary>Time the routing thread did not run, not counted against cells.</summary>
    internal TimeSpan StalledFor => _clock.SpanOf(_clock.Stalled);

    internal SessionRegistry Sessions => _sessions;

    internal RouteTable Routes => _routes;

    /// <summary>
    /// Handles one message: <paramref name="frames"/> counts the frames after the routing id, and
    /// <paramref name="largestExtraFrame"/> is the size of the largest frame after the second. <paramref name="rawNow"/>
    /// is a timestamp of the transmitter's <see cref="TimeProvider"/>, read when the burst began.
    /// </summary>
    public void Handle(ReadOnlySpan<byte> routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, int frames, int largestExtraFrame, long rawNow)
    {
        var now = _now = _clock.Advance(rawNow);
        _sessions.TryGetByRoutingId(routingId, out var session);
        if (session is not null)
        {
            session.LastSeen = now;
        }

        try
        {
            Dispatch(routingId, session, header, body, frames, largestExtraFrame, now);
        }
        catch (Exception ex)
        {
            // Our bug, not the sender's: report it to the sender and keep serving everyone else.
            _log.Error(ex, "Failed to handle a command from {RoutingId}", Convert.ToHexString(routingId));
            Reject(routingId, session, Command.Unknown, ThynapseErrorCode.InternalError, "the transmitter failed to handle this command", commandName: CommandLetters(header));
        }
    }

    private void Dispatch(ReadOnlySpan<byte> routingId, CellSession? session, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, int frames, int largestExtraFrame, long now)
    {
        if (frames == 1 && header.SequenceEqual(DisconnectMarker))
        {
            if (session is not null)
            {
                RemoveSession(session, SessionEnd.Disconnected);
            }

            return;
        }

        var largest = Math.Max(header.Length, Math.Max(body.Length, largestExtraFrame));
        if (largest > _options.MaxFrameBytes)
        {
            Reject(routingId, session, Command.Unknown, ThynapseErrorCode.FrameTooLarge, $"a frame of {largest} bytes exceeds the limit of {_options.MaxFrameBytes}", commandName: CommandLetters(header));
            return;
        }

        var code = FrameHeader.TryParse(header, out var encoding, out var command, out var payload, out var error);
        if (code != ThynapseErrorCode.None)
        {
            Reject(routingId, session, Command.Unknown, code, error!, commandName: CommandLetters(header));
            return;
        }

        if (!IsCellCommand(command, header, out error))
        {
            Reject(routingId, session, command, ThynapseErrorCode.UnknownCommand, error, commandName: CommandLetters(header));
            return;
        }

        if (encoding == Encodings.Binary && command is not (Command.Evnt or Command.Ackn))
        {
            Reject(routingId, session, command, ThynapseErrorCode.UnknownCommand, $"encoding B defines only EVNT and ACKN from cells; send {CommandNames.Of(command)} as J");
            return;
        }

        var allowedFrames = command == Command.Evnt && encoding == Encodings.Json ? 2 : 1;
        if (frames > allowedFrames)
        {
            Reject(routingId, session, command, ThynapseErrorCode.UnexpectedFrames, $"{(char)encoding} {CommandNames.Of(command)} takes at most {allowedFrames} frame(s), this message has {frames}");
            return;
        }

        // A J payload is read before the session state is checked, so that every later refusal can echo its 'ref'.
        JObject? json = null;
        if (encoding == Encodings.Json)
        {
            if (header.Length > _options.MaxHeaderBytes)
            {
                Reject(routingId, session, command, ThynapseErrorCode.HeaderTooLarge, $"a J header of {header.Length} bytes exceeds the limit of {_options.MaxHeaderBytes}");
                return;
            }

            if (!JsonPayload.TryParse(payload, out json, out error))
            {
                Reject(routingId, session, command, ThynapseErrorCode.InvalidJson, error);
                return;
            }
        }

        if (command == Command.Helo ? session is not null : session is null)
        {
            if (session is null && encoding == Encodings.Binary && command == Command.Evnt)
            {
                RejectUnwelcomedEvents(routingId, payload);
                return;
            }

            Reject(routingId, session, command, session is null ? ThynapseErrorCode.NotWelcomed : ThynapseErrorCode.AlreadyWelcomed,
                session is null ? "send HELO first" : "this connection already has a session", json);
            return;
        }

        if (command == Command.Evnt)
        {
            UseCredit(session!, header.Length + body.Length); // every EVNT message counts, accepted or not (§8.4)
        }

        if (json is null)
        {
            if (command == Command.Evnt)
            {
                HandleBinaryEvents(session!, payload);
            }
            else
            {
                HandleAcks(session!, payload);
            }

            return;
        }

        var fields = new FieldReader(json);
        switch (command)
        {
            case Command.Helo:
                HandleHelo(routingId, json, fields, now);
                break;
            case Command.Evnt:
                HandleJsonEvent(session!, json, fields, body);
                break;
            case Command.Subs:
                HandleSubscribe(session!, json, fields);
                break;
            case Command.Unsb:
                HandleUnsubscribe(session!, json, fields);
                break;
            case Command.Ackn:
                HandleJsonAck(session!, json, fields);
                break;
            case Command.Meta:
                HandleMeta(session!, json, fields);
                break;
            case Command.List:
                HandleList(session!, json, fields);
                break;
            case Command.Wtch:
                HandleWatch(session!, json, fields);
                break;
            case Command.Unwt:
                HandleUnwatch(session!, json, fields);
                break;
            case Command.Nack:
                HandleNack(session!, json, fields);
                break;
            case Command.Prog:
                HandleProgress(session!, json, fields);
                break;
            case Command.Beat:
                Reply(session!, Command.Beat, []);
                break;
            case Command.Gbye:
                Reply(session!, Command.Gbye, []);
                RemoveSession(session!, SessionEnd.Left);
                break;
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

    /// <summary>
    /// Refuses a <c>B EVNT</c> frame from a connection without a session, naming the range of sequence numbers it
    /// carried, so that a cell that lost its session can tell which events went nowhere (PROTOCOL.md §5.11).
    /// </summary>
    private void RejectUnwelcomedEvents(ReadOnlySpan<byte> routingId, ReadOnlySpan<byte> payload)
    {
        var reader = new EventRecordReader(payload);
        ulong first = 0, last = 0;
        var count = 0;
        while (reader.TryRead(out var record, out _))
        {
            first = count++ == 0 ? record.Sequence : Math.Min(first, record.Sequence);
            last = Math.Max(last, record.Sequence);
        }

        TransmitterCounters.Add(ref _counters.EventsRejected, count);
        var extra = count == 0 ? null : new JObject { ["first"] = first, ["last"] = last, ["count"] = count };
        Reject(routingId, null, Command.Evnt, ThynapseErrorCode.NotWelcomed, $"send HELO first; {count} event(s) in this frame were not routed", extra: extra);
    }

    /// <summary>
    /// Sends <c>ERRR</c> (echoing the request's <c>ref</c> or <c>seq</c> when given) and counts it.
    /// <paramref name="commandName"/> names the command when <paramref name="command"/> is not a known one.
    /// </summary>
    private void Reject(
        ReadOnlySpan<byte> routingId,
        CellSession? session,
        Command command,
        ThynapseErrorCode code,
        string message,
        JObject? request = null,
        ulong? sequence = null,
        JObject? extra = null,
        string? commandName = null)
    {
        commandName ??= command == Command.Unknown ? null : CommandNames.Of(command);
        TransmitterCounters.Increment(ref _counters.ProtocolErrors);
        if (command == Command.Evnt)
        {
            TransmitterCounters.Increment(ref _counters.EventsRejected);
        }

        if (_warnings.Allow(WarningKind.Refused))
        {
            _log.Warning("Refused {Command} from {Cell}: {ErrorCode} {ErrorName}: {Reason}",
                commandName ?? "a message",
                session?.ToString() ?? $"connection {Convert.ToHexString(routingId)}", (int)code, ErrorCodeNames.Of(code), message);
        }

        var payload = new JObject
        {
            ["code"] = (int)code,
            ["name"] = ErrorCodeNames.Of(code),
            ["message"] = message,
        };
        if (commandName is not null)
        {
            payload["command"] = commandName;
        }

        if (request?["ref"] is JValue { Type: JTokenType.Integer or JTokenType.String } reference)
        {
            payload["ref"] = reference;
        }

        if (sequence is { } seq)
        {
            payload["seq"] = seq;
        }

        if (extra is not null)
        {
            payload.Merge(extra);
        }

        var frame = JsonPayload.Frame(Command.Errr, payload);
        if (session is not null)
        {
            Send(session, frame);
        }
        else if (_sender.Send(routingId.ToArray(), frame) != SendOutcome.Sent)
        {
            TransmitterCounters.Increment(ref _counters.RepliesDropped);
        }
    }

    /// <summary>Sends a control reply, echoing <c>ref</c> from <paramref name="request"/> when it has one.</summary>
    private void Reply(CellSession session, Command command, JObject payload, JObject? request = null)
    {
        if (request?["ref"] is JValue { Type: JTokenType.Integer or JTokenType.String } reference)
        {
            payload["ref"] = reference;
        }

        Send(session, JsonPayload.Frame(command, payload));
    }

    /// <summary>Sends one frame to a cell after what is already batched for it, so the cell sees things in order.</summary>
    private void Send(CellSession session, ReadOnlySpan<byte> frame)
    {
        if (session.Closed)
        {
            TransmitterCounters.Increment(ref _counters.RepliesDropped);
            return;
        }

        if (session.Dirty)
        {
            Flush(session);
        }

        var outcome = SendToCell(session, frame, default, twoFrames: false, HeldKind.Reply, 1);
        if (outcome != SendOutcome.Sent)
        {
            TransmitterCounters.Increment(ref _counters.RepliesDropped);
            session.UnreportedReplies++;
            if (outcome == SendOutcome.Gone)
            {
                RemoveSession(session, SessionEnd.Disconnected);
            }
        }
    }
}
