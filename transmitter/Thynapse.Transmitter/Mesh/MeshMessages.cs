using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The commands of the transmitter mesh (PROTOCOL.md §12.3). None is a cell command: a cell that sends one is refused
/// with <c>UNKNOWN_COMMAND</c>.
/// </summary>
internal enum MeshCommand
{
    /// <summary>Not a mesh command.</summary>
    None = 0,

    /// <summary>Command socket: a transmitter joins, or exchanges its whole membership (push-pull); answered with <c>MEMB</c>.</summary>
    Join,

    /// <summary>Event socket (broadcast) or the answer to <c>JOIN</c>: member records to merge.</summary>
    Memb,

    /// <summary>Command socket: a direct probe; answered with <c>PONG</c> on the event socket.</summary>
    Ping,

    /// <summary>Command socket: probe another member for me (SWIM's indirect probe).</summary>
    Preq,

    /// <summary>Event socket (directed): the answer to a probe, direct or relayed.</summary>
    Pong,

    /// <summary>Event socket (directed): an indirect probe got no answer in time (Lifeguard's nack).</summary>
    Pnak,

    /// <summary>Event socket (broadcast): the heartbeat of a transmitter's streams, with their last sequence numbers.</summary>
    Puls,

    /// <summary>Event socket (broadcast): records of the sender's cells that just changed (the replicated cell directory).</summary>
    Cels,

    /// <summary>Event socket (directed): a numbered message of the forward stream, carrying events (PROTOCOL.md §12.11).</summary>
    Fwrd,

    /// <summary>Event socket (directed): numbers of the forward stream the sender no longer holds, lost.</summary>
    Gone,

    /// <summary>Command socket: send numbers of your forward stream to me again (a gap).</summary>
    Rsnd,

    /// <summary>Command link (the answer to a <c>JOIN</c> that asks for it): the challenge of the cluster secret's proof (§12.12).</summary>
    Chal,
}

/// <summary>Wire names of <see cref="MeshCommand"/> values.</summary>
internal static class MeshCommands
{
    private static readonly string[] Names = ["????", "JOIN", "MEMB", "PING", "PREQ", "PONG", "PNAK", "PULS", "CELS", "FWRD", "GONE", "RSND", "CHAL"];
    private static readonly byte[][] Bytes = [.. Names.Select(Encoding.ASCII.GetBytes)];

    /// <summary>The four letters of <paramref name="command"/>.</summary>
    public static string Of(MeshCommand command) => Names[(int)command];

    /// <summary>The mesh command named by four ASCII bytes, or <see cref="MeshCommand.None"/>.</summary>
    public static MeshCommand Parse(ReadOnlySpan<byte> fourBytes)
    {
        if (fourBytes.Length != 4)
        {
            return MeshCommand.None;
        }

        for (var i = 1; i < Names.Length; i++)
        {
            if (fourBytes.SequenceEqual(Bytes[i]))
            {
                return (MeshCommand)i;
            }
        }

        return MeshCommand.None;
    }

    /// <summary>True for the commands a transmitter sends to a peer's command socket (the rest travel on event sockets).</summary>
    public static bool IsRequest(MeshCommand command) => command is MeshCommand.Join or MeshCommand.Ping or MeshCommand.Preq or MeshCommand.Rsnd;
}

/// <summary>What a member says about one member: its identity, incarnation, state and endpoints (PROTOCOL.md §12.4).</summary>
/// <param name="Id">The member's THID.</param>
/// <param name="Incarnation">Its incarnation: higher is newer; a restart or a refutation raises it.</param>
/// <param name="State">What the sender holds it to be.</param>
/// <param name="Command">Its command (ROUTER) endpoint.</param>
/// <param name="Events">Its event (PUB) endpoint.</param>
/// <param name="From">For <see cref="PeerState.Suspect"/>: the member that suspects it (its confirmation); else empty.</param>
/// <param name="Records">The highest <c>FWRD</c> record kind it reads (§12.10); 0 when its record does not say.</param>
/// <param name="Run">
/// The incarnation its process started at: the same through its refutations, new with every restart, which tells a
/// member that refuted (its links stand) from one that restarted (linked anew); 0 when its record does not say.
/// </param>
internal readonly record struct MemberRecord(Thid Id, long Incarnation, PeerState State, string Command, string Events, Thid From = default, int Records = 0, long Run = 0)
{
    /// <summary>The wire name of a state: <c>alive</c>, <c>suspect</c>, <c>dead</c>, <c>left</c>.</summary>
    public static string StateName(PeerState state) => state switch
    {
        PeerState.Alive => "alive",
        PeerState.Suspect => "suspect",
        PeerState.Dead => "dead",
        _ => "left",
    };

    public JObject ToJson()
    {
        var json = new JObject
        {
            ["id"] = Id.ToString(),
            ["incarnation"] = Incarnation,
            ["state"] = StateName(State),
            ["command"] = Command,
            ["pub"] = Events,
        };
        if (State == PeerState.Suspect && !From.IsEmpty)
        {
            json["from"] = From.ToString();
        }

        if (Records > 0)
        {
            json["records"] = Records;
        }

        if (Run > 0)
        {
            json["run"] = Run;
        }

        return json;
    }

    /// <summary>Reads one entry of a <c>members</c> array; null and <paramref name="error"/> when it is not a valid record.</summary>
    public static MemberRecord? Read(JToken token, int index, out string? error)
    {
        if (token is not JObject json)
        {
            error = $"members[{index}] must be an object";
            return null;
        }

        var fields = new FieldReader(json);
        var id = fields.GetString("id", required: true);
        var incarnation = fields.GetUInt64("incarnation", required: true);
        var state = fields.GetString("state", required: true);
        var command = fields.GetString("command", required: true);
        var events = fields.GetString("pub", required: true);
        var from = fields.GetString("from");
        var records = fields.GetUInt32("records");
        var run = fields.GetUInt64("run");
        var parsedState = state switch
        {
            "alive" => PeerState.Alive,
            "suspect" => PeerState.Suspect,
            "dead" => PeerState.Dead,
            "left" => PeerState.Left,
            _ => (PeerState?)null,
        };
        if (fields.Error is null)
        {
            MeshFields.CheckId(fields, "id", id);
            MeshFields.CheckIncarnation(fields, incarnation);
            MeshFields.CheckEndpoint(fields, "command", command);
            MeshFields.CheckEndpoint(fields, "pub", events);
            if (parsedState is null)
            {
                fields.Invalid($"field 'state' must be alive, suspect, dead or left, not '{state}'");
            }

            if (from is not null)
            {
                MeshFields.CheckId(fields, "from", from);
            }

            MeshFields.CheckRun(fields, run, incarnation);
        }

        if (fields.Error is { } problem)
        {
            error = $"members[{index}]: {problem}";
            return null;
        }

        error = null;
        return new MemberRecord(Thid.Parse(id), (long)incarnation!.Value, parsedState!.Value, command!, events!, from is null ? default : Thid.Parse(from),
            (int)Math.Min(records ?? 0, 255), (long)(run ?? 0));
    }
}

/// <summary><c>JOIN</c>: a transmitter introduces itself (and proves it is one) and pushes what it knows (§12.5.1).</summary>
internal sealed record JoinMessage(MemberRecord Sender, IReadOnlyList<MemberRecord> Members)
{
    /// <summary>The mesh protocol version this transmitter speaks.</summary>
    public const int Version = 1;

    /// <summary>The cluster secret's fields (<c>auth</c>, §12.12), or null without a cluster secret.</summary>
    public JObject? Auth { get; init; }

    public byte[] ToFrame()
    {
        var json = new JObject
        {
            ["mesh"] = Version,
            ["id"] = Sender.Id.ToString(),
            ["incarnation"] = Sender.Incarnation,
            ["command"] = Sender.Command,
            ["pub"] = Sender.Events,
            ["members"] = MeshFrames.Records(Members),
        };
        if (Sender.Records > 0)
        {
            json["records"] = Sender.Records;
        }

        if (Sender.Run > 0)
        {
            json["run"] = Sender.Run;
        }

        if (Auth is { } auth)
        {
            json["auth"] = auth;
        }

        return MeshFrames.Frame(MeshCommand.Join, json);
    }

    /// <summary>Reads a <c>JOIN</c>; on failure the code and a message naming the field.</summary>
    public static ThynapseErrorCode TryRead(JObject json, out JoinMessage? message, out string? error)
    {
        message = null;
        var fields = new FieldReader(json);
        var version = fields.GetUInt64("mesh", required: true);
        var id = fields.GetString("id", required: true);
        var incarnation = fields.GetUInt64("incarnation", required: true);
        var command = fields.GetString("command", required: true);
        var events = fields.GetString("pub", required: true);
        var members = fields.GetArray("members");
        var senderRecords = fields.GetUInt32("records");
        var run = fields.GetUInt64("run");
        if (fields.Error is null)
        {
            MeshFields.CheckId(fields, "id", id);
            MeshFields.CheckIncarnation(fields, incarnation);
            MeshFields.CheckEndpoint(fields, "command", command);
            MeshFields.CheckEndpoint(fields, "pub", events);
            MeshFields.CheckRun(fields, run, incarnation);
        }

        if (fields.Error is { } problem)
        {
            error = problem;
            return ThynapseErrorCode.InvalidField;
        }

        if (version != Version)
        {
            error = $"this transmitter speaks mesh protocol {Version}, not {version}";
            return ThynapseErrorCode.UnsupportedProtocol;
        }

        if (!MeshFrames.TryReadRecords(members, out var records, out error))
        {
            return ThynapseErrorCode.InvalidField;
        }

        message = new JoinMessage(new MemberRecord(Thid.Parse(id), (long)incarnation!.Value, PeerState.Alive, command!, events!, Records: (int)Math.Min(senderRecords ?? 0, 255), Run: (long)(run ?? 0)), records);
        return ThynapseErrorCode.None;
    }
}

/// <summary>
/// <c>MEMB</c>: member records to merge, as the answer to a <c>JOIN</c> (everything the sender knows, itself included,
/// and its broadcast position) or broadcast on its event socket (what changed) (§12.5.2). An answer also carries the
/// sender's cells (<paramref name="Cells"/>: fields <c>cells</c> and <c>cellsAt</c>, §12.8); a broadcast never does.
/// </summary>
internal sealed record MembersMessage(StreamHeader Header, IReadOnlyList<MemberRecord> Members, CellSnapshot? Cells = null)
{
    /// <summary>In an answer to a <c>JOIN</c> under a cluster secret: the answerer's proof (<c>auth</c>, §12.12).</summary>
    public JObject? Auth { get; init; }

    public byte[] ToFrame()
    {
        var json = new JObject { ["members"] = MeshFrames.Records(Members) };
        if (Auth is { } auth)
        {
            json["auth"] = auth;
        }

        if (Cells is { } cells)
        {
            json["cells"] = CellRecord.Array(cells.Cells);
            json["cellsAt"] = cells.At.ToJson();
        }

        return MeshFrames.Frame(MeshCommand.Memb, Header.ToJson(json));
    }

    public static bool TryRead(JObject json, out MembersMessage? message, out string? error)
    {
        message = null;
        var fields = new FieldReader(json);
        var header = StreamHeader.Read(fields);
        var members = fields.GetArray("members", required: true);
        var cells = fields.GetArray("cells");
        var at = cells is null ? null : CellVersion.Read(json["cellsAt"]);
        if (fields.Error is null && cells is not null && at is null)
        {
            fields.Invalid("field 'cellsAt' must be [incarnation, counter] when 'cells' is given");
        }

        if (fields.Error is not null || header is null)
        {
            error = fields.Error;
            return false;
        }

        if (!MeshFrames.TryReadRecords(members, out var records, out error) || !CellRecord.TryReadAll(cells, out var cellRecords, out error))
        {
            return false;
        }

        message = new MembersMessage(header.Value, records, cells is null ? null : new CellSnapshot(at!.Value, cellRecords));
        return true;
    }
}

/// <summary><c>PING</c> (command socket): a direct probe (§12.5.3). <paramref name="Suspect"/>: the prober suspects the target at this incarnation.</summary>
internal readonly record struct PingMessage(ulong Nonce, long? Suspect)
{
    public byte[] ToFrame()
    {
        var json = new JObject { ["nonce"] = Nonce };
        if (Suspect is { } incarnation)
        {
            json["suspect"] = incarnation;
        }

        return MeshFrames.Frame(MeshCommand.Ping, json);
    }

    public static bool TryRead(JObject json, out PingMessage message, out string? error)
    {
        var fields = new FieldReader(json);
        var nonce = fields.GetUInt64("nonce", required: true);
        var suspect = fields.GetUInt64("suspect");
        error = fields.Error;
        message = error is null ? new PingMessage(nonce!.Value, (long?)suspect) : default;
        return error is null;
    }
}

/// <summary><c>PREQ</c> (command socket): probe <paramref name="Target"/> for the sender, answer with its nonce (§12.5.4).</summary>
internal readonly record struct PingRequestMessage(ulong Nonce, Thid Target)
{
    public byte[] ToFrame() => MeshFrames.Frame(MeshCommand.Preq, new JObject { ["nonce"] = Nonce, ["target"] = Target.ToString() });

    public static bool TryRead(JObject json, out PingRequestMessage message, out string? error)
    {
        var fields = new FieldReader(json);
        var nonce = fields.GetUInt64("nonce", required: true);
        var target = fields.GetString("target", required: true);
        if (fields.Error is null)
        {
            MeshFields.CheckId(fields, "target", target);
        }

        error = fields.Error;
        message = error is null ? new PingRequestMessage(nonce!.Value, Thid.Parse(target)) : default;
        return error is null;
    }
}

/// <summary>
/// The fields every message on an event socket starts with (§12.2): the sender, its incarnation, and the message's
/// sequence number in its stream (for <c>PULS</c>: the last one used on the broadcast stream).
/// </summary>
internal readonly record struct StreamHeader(Thid Id, long Incarnation, long Seq)
{
    public JObject ToJson(JObject rest)
    {
        var json = new JObject { ["id"] = Id.ToString(), ["incarnation"] = Incarnation, ["seq"] = Seq };
        json.Merge(rest);
        return json;
    }

    public static StreamHeader? Read(FieldReader fields)
    {
        var id = fields.GetString("id", required: true);
        var incarnation = fields.GetUInt64("incarnation", required: true);
        var seq = fields.GetUInt64("seq", required: true);
        if (fields.Error is null)
        {
            MeshFields.CheckId(fields, "id", id);
            MeshFields.CheckIncarnation(fields, incarnation);
            if (seq > long.MaxValue)
            {
                fields.Invalid("field 'seq' must be below 2^63");
            }
        }

        return fields.Error is null ? new StreamHeader(Thid.Parse(id), (long)incarnation!.Value, (long)seq!.Value) : null;
    }
}

/// <summary><c>PONG</c> or <c>PNAK</c> (directed, event socket): the answer to the probe with this nonce (§12.5.3, §12.5.4).</summary>
internal readonly record struct ProbeAnswer(StreamHeader Header, ulong Nonce)
{
    public byte[] ToFrame(MeshCommand command) => MeshFrames.Frame(command, Header.ToJson(new JObject { ["nonce"] = Nonce }));

    public static bool TryRead(JObject json, out ProbeAnswer message, out string? error)
    {
        var fields = new FieldReader(json);
        var header = StreamHeader.Read(fields);
        var nonce = fields.GetUInt64("nonce", required: true);
        error = fields.Error;
        message = error is null ? new ProbeAnswer(header!.Value, nonce!.Value) : default;
        return error is null;
    }
}

/// <summary>
/// <c>PULS</c> (broadcast, event socket): the sender is alive; its broadcast stream is at <c>seq</c> and its directed
/// stream to each listed member at the number given (§12.6). It takes no sequence number of its own.
/// </summary>
internal sealed record PulseMessage(StreamHeader Header, IReadOnlyDictionary<Thid, long> Directed)
{
    /// <summary>
    /// <c>fwd</c>: per destination, the incarnation its forward stream is numbered for and the stream's last number
    /// (PROTOCOL.md §12.11); a receiver that has less asks for the rest (a lost tail).
    /// </summary>
    public IReadOnlyDictionary<Thid, (long To, long Last)> Forward { get; init; } = new Dictionary<Thid, (long, long)>();

    public byte[] ToFrame()
    {
        var to = new JObject();
        foreach (var (id, seq) in Directed)
        {
            to[id.ToString()] = seq;
        }

        var rest = new JObject { ["to"] = to };
        if (Forward.Count > 0)
        {
            var fwd = new JObject();
            foreach (var (id, (incarnation, last)) in Forward)
            {
                fwd[id.ToString()] = new JArray(incarnation, last);
            }

            rest["fwd"] = fwd;
        }

        return MeshFrames.Frame(MeshCommand.Puls, Header.ToJson(rest));
    }

    public static bool TryRead(JObject json, out PulseMessage? message, out string? error)
    {
        message = null;
        var fields = new FieldReader(json);
        var header = StreamHeader.Read(fields);
        var to = fields.GetObject("to");
        var fwd = fields.GetObject("fwd");
        var directed = new Dictionary<Thid, long>();
        var forward = new Dictionary<Thid, (long, long)>();
        if (fields.Error is null && to is not null)
        {
            foreach (var (key, value) in to)
            {
                if (!Thid.TryParse(key, out var id) || value is not JValue { Type: JTokenType.Integer } number || (long)number < 0)
                {
                    fields.Invalid($"field 'to' maps THIDs to sequence numbers; '{key}' does not");
                    break;
                }

                directed[id] = (long)number;
            }
        }

        if (fields.Error is null && fwd is not null)
        {
            foreach (var (key, value) in fwd)
            {
                if (!Thid.TryParse(key, out var id) || value is not JArray { Count: 2 } pair || pair[0] is not JValue { Type: JTokenType.Integer } i
                    || pair[1] is not JValue { Type: JTokenType.Integer } n || (long)i < 1 || (long)n < 0)
                {
                    fields.Invalid($"field 'fwd' maps THIDs to [incarnation, last number]; '{key}' does not");
                    break;
                }

                forward[id] = ((long)i, (long)n);
            }
        }

        error = fields.Error;
        if (error is null)
        {
            message = new PulseMessage(header!.Value, directed) { Forward = forward };
        }

        return error is null;
    }
}

/// <summary>Checks shared by the mesh's messages, worded as <see cref="FieldReader"/> words its own.</summary>
internal static class MeshFields
{
    public static void CheckId(FieldReader fields, string name, string? value)
    {
        if (fields.Error is null && !Thid.TryParse(value, out _))
        {
            fields.Invalid($"field '{name}' must be a THID: 40 hexadecimal characters");
        }
    }

    public static void CheckIncarnation(FieldReader fields, ulong? value)
    {
        if (fields.Error is null && value is 0 or > long.MaxValue)
        {
            fields.Invalid("field 'incarnation' must be from 1 to 2^63-1");
        }
    }

    /// <summary>The optional <c>run</c>: the incarnation the member's process started at, so never above its incarnation.</summary>
    public static void CheckRun(FieldReader fields, ulong? run, ulong? incarnation)
    {
        if (fields.Error is null && run is { } value && (value == 0 || value > incarnation))
        {
            fields.Invalid($"field 'run' (the incarnation its process started at) must be from 1 to the record's incarnation ({incarnation}), not {value}");
        }
    }

    public static void CheckEndpoint(FieldReader fields, string name, string? value)
    {
        if (fields.Error is null && !Endpoint.TryValidate(value, $"field '{name}'", bind: false, defaultPort: 4710, out var error))
        {
            fields.Invalid(error);
        }
    }
}

/// <summary>Frames of mesh commands: <c>J CMND {json}</c> as every <c>J</c> command (PROTOCOL.md §2).</summary>
internal static class MeshFrames
{
    /// <summary>The broadcast topic on event sockets; directed messages use the destination's THID (§12.2).</summary>
    public const string BroadcastTopic = "$mesh";

    public static byte[] Frame(MeshCommand command, JObject payload)
    {
        var json = payload.ToString(Formatting.None);
        var name = MeshCommands.Of(command);
        var bytes = new byte[FrameHeader.PayloadOffset + Encoding.UTF8.GetByteCount(json)];
        bytes[0] = Encodings.Json;
        bytes[1] = (byte)' ';
        Encoding.ASCII.GetBytes(name, bytes.AsSpan(2, 4));
        bytes[FrameHeader.PrefixLength] = (byte)' ';
        Encoding.UTF8.GetBytes(json, bytes.AsSpan(FrameHeader.PayloadOffset));
        return bytes;
    }

    public static JArray Records(IReadOnlyList<MemberRecord> members)
    {
        var array = new JArray();
        foreach (var member in members)
        {
            array.Add(member.ToJson());
        }

        return array;
    }

    public static bool TryReadRecords(JArray? members, out List<MemberRecord> records, out string? error)
    {
        records = [];
        error = null;
        if (members is null)
        {
            return true;
        }

        for (var i = 0; i < members.Count; i++)
        {
            if (MemberRecord.Read(members[i], i, out error) is not { } record)
            {
                return false;
            }

            records.Add(record);
        }

        return true;
    }

    /// <summary>
    /// Splits a mesh header frame: the command and its JSON payload, or why not. Mesh commands are <c>J</c> only.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, out MeshCommand command, out JObject? json, out string? error)
    {
        json = null;
        command = MeshCommand.None;
        if (FrameHeader.TryParse(frame, out var encoding, out _, out var payload, out error) != ThynapseErrorCode.None)
        {
            return false;
        }

        command = MeshCommands.Parse(frame.Slice(2, 4));
        if (command == MeshCommand.None)
        {
            error = $"'{Encoding.ASCII.GetString(frame.Slice(2, 4))}' is not a mesh command";
            return false;
        }

        if (encoding != Encodings.Json)
        {
            error = $"{MeshCommands.Of(command)} is defined only as J";
            return false;
        }

        return JsonPayload.TryParse(payload, out json, out error);
    }
}
