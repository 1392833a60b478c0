using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>WLCM</c>, transmitter → cell (PROTOCOL.md §5.2): the answer to a successful <c>HELO</c>.</summary>
/// <param name="Id">The transmitter's THID.</param>
/// <param name="Pub">The transmitter's event endpoint, connectable.</param>
/// <param name="Session">The secret token for <c>HELO.resume</c>.</param>
public sealed record WelcomeMessage(Thid Id, string Pub, string Session) : JsonRequest
{
    /// <summary><c>protocol</c> (default: <see cref="ProtocolVersion.Current"/>).</summary>
    public int Protocol { get; init; } = ProtocolVersion.Current;

    /// <summary><c>heartbeat</c>: milliseconds; the cell sends something at least this often (default: 1,000).</summary>
    public long Heartbeat { get; init; } = ProtocolDefaults.HeartbeatMs;

    /// <summary><c>liveness</c>: milliseconds of silence after which either side considers the other gone (default: 5,000).</summary>
    public long Liveness { get; init; } = ProtocolDefaults.LivenessMs;

    /// <summary><c>encodings</c>: what the transmitter will send this cell (default: <c>["J"]</c>).</summary>
    public IReadOnlyList<string> Encodings { get; init; } = ["J"];

    /// <summary><c>limits</c> (§8.1).</summary>
    public WelcomeLimits Limits { get; init; } = WelcomeLimits.Default;

    /// <summary><c>defaults</c>: what an acknowledging subscription that names none gets (§5.6).</summary>
    public WelcomeDefaults Defaults { get; init; } = WelcomeDefaults.Default;

    /// <summary>
    /// <c>transmitters</c>: the known transmitters, the sender first, then the live members of its mesh (§5.2); a
    /// <c>TMTR</c> replaces the list when it changes (§5.19).
    /// </summary>
    public IReadOnlyList<TransmitterAddress> Transmitters { get; init; } = [];

    /// <summary><c>credit</c>: only when <c>HELO.credit</c> was true, the cell's first publishing credit in bytes (§8.4).</summary>
    public long? Credit { get; init; }

    /// <summary><c>resumed</c>: only when <c>HELO.resume</c> matched a session of this id, what that session missed.</summary>
    public WelcomeResumed? Resumed { get; init; }

    /// <inheritdoc />
    public override Command Command => Command.Wlcm;

    /// <summary>True when the transmitter sends this cell <c>B</c> frames.</summary>
    public bool SendsBinary => Encodings.Contains("B");

    /// <summary>
    /// Reads a <c>WLCM</c>: <c>id</c> (a THID), <c>pub</c>, <c>session</c>, <c>heartbeat</c> and <c>liveness</c>
    /// required. <c>protocol</c>, <c>encodings</c>, <c>limits</c>, <c>defaults</c> and <c>transmitters</c> read as their
    /// defaults when absent (so does a member of <c>limits</c> or <c>defaults</c>); <c>credit</c> and <c>resumed</c>
    /// only when present.
    /// </summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out WelcomeMessage? message, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, Read, out message, out _, out error);

    /// <inheritdoc />
    /// <remarks>
    /// The transmitter's order: id, pub, protocol, session, heartbeat, liveness, encodings, limits, defaults,
    /// transmitters, then credit, resumed and ref.
    /// </remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "id", Id.ToString());
        MessageFields.Write(writer, "pub", Pub);
        MessageFields.Write(writer, "protocol", Protocol);
        MessageFields.Write(writer, "session", Session);
        MessageFields.Write(writer, "heartbeat", Heartbeat);
        MessageFields.Write(writer, "liveness", Liveness);
        MessageFields.WriteStrings(writer, "encodings", Encodings);
        writer.WritePropertyName("limits");
        Limits.WriteJson(writer);
        writer.WritePropertyName("defaults");
        Defaults.WriteJson(writer);
        TransmitterAddress.WriteAll(writer, Transmitters);
        MessageFields.WriteIfPresent(writer, "credit", Credit);
        if (Resumed is not null)
        {
            writer.WritePropertyName("resumed");
            Resumed.WriteJson(writer);
        }

        MessageFields.WriteRef(writer, Ref);
    }

    private static WelcomeMessage? Read(ref JsonFields fields)
    {
        var id = fields.GetThid("id", required: true);
        var pub = fields.GetString("pub", required: true);
        var protocol = fields.GetUInt32("protocol");
        var session = fields.GetString("session", required: true);
        var heartbeat = fields.GetCount("heartbeat", required: true);
        var liveness = fields.GetCount("liveness", required: true);
        var encodings = MessageFields.ReadStrings(fields.GetArray("encodings"), ref fields, "field 'encodings' must be an array of strings");
        var limitsField = fields.GetObject("limits");
        var defaultsField = fields.GetObject("defaults");
        var transmittersField = fields.GetArray("transmitters");
        var credit = fields.GetCount("credit");
        var resumedField = fields.GetObject("resumed");
        if (protocol is > int.MaxValue)
        {
            fields.Invalid("field 'protocol' must be below 2^31");
        }

        var limits = limitsField is null ? WelcomeLimits.Default : MessageFields.ReadObject(limitsField, ref fields, "limits: ", WelcomeLimits.Read);
        var defaults = defaultsField is null ? WelcomeDefaults.Default : MessageFields.ReadObject(defaultsField, ref fields, "defaults: ", WelcomeDefaults.Read);
        var transmitters = TransmitterAddress.ReadAll(transmittersField, ref fields);
        var resumed = resumedField is null ? null : MessageFields.ReadObject(resumedField, ref fields, "resumed: ", WelcomeResumed.Read);
        return fields.Error is not null ? null : new WelcomeMessage(id, pub!, session!)
        {
            Protocol = (int)(protocol ?? ProtocolVersion.Current),
            Heartbeat = heartbeat!.Value,
            Liveness = liveness!.Value,
            Encodings = encodings ?? ["J"],
            Limits = limits!,
            Defaults = defaults!,
            Transmitters = transmitters,
            Credit = credit,
            Resumed = resumed,
            Ref = fields.Ref,
        };
    }
}

/// <summary><c>WLCM.limits</c> (PROTOCOL.md §5.2, §8.1); each member defaults to the protocol's default.</summary>
public sealed record WelcomeLimits
{
    /// <summary>The protocol's defaults (§8.1).</summary>
    public static WelcomeLimits Default { get; } = new();

    /// <summary><c>frame</c>: bytes per frame (default: 1 MiB).</summary>
    public int Frame { get; init; } = ProtocolDefaults.MaxFrameBytes;

    /// <summary><c>header</c>: bytes per <c>J</c> header frame (default: 64 KiB).</summary>
    public int Header { get; init; } = ProtocolDefaults.MaxHeaderBytes;

    /// <summary><c>subscriptions</c>: per cell (default: 10,000).</summary>
    public int Subscriptions { get; init; } = ProtocolDefaults.MaxSubscriptionsPerCell;

    /// <summary><c>channel</c>: characters of a channel (fixed: 255).</summary>
    public int Channel { get; init; } = Core.Channel.MaxLength;

    /// <summary><c>metadata</c>: bytes of compact JSON (default: 16,384).</summary>
    public int Metadata { get; init; } = ProtocolDefaults.MaxMetadataBytes;

    /// <summary><c>queue</c>: acknowledged anycatch events a service may have waiting (default: 100,000).</summary>
    public int Queue { get; init; } = ProtocolDefaults.ServiceQueueLimit;

    /// <summary>Writes the object: frame, header, subscriptions, channel, metadata, queue.</summary>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "frame", Frame);
        MessageFields.Write(writer, "header", Header);
        MessageFields.Write(writer, "subscriptions", Subscriptions);
        MessageFields.Write(writer, "channel", Channel);
        MessageFields.Write(writer, "metadata", Metadata);
        MessageFields.Write(writer, "queue", Queue);
        writer.WriteEndObject();
    }

    internal static WelcomeLimits Read(ref JsonFields fields) => new()
    {
        Frame = Int(ref fields, "frame") ?? ProtocolDefaults.MaxFrameBytes,
        Header = Int(ref fields, "header") ?? ProtocolDefaults.MaxHeaderBytes,
        Subscriptions = Int(ref fields, "subscriptions") ?? ProtocolDefaults.MaxSubscriptionsPerCell,
        Channel = Int(ref fields, "channel") ?? Core.Channel.MaxLength,
        Metadata = Int(ref fields, "metadata") ?? ProtocolDefaults.MaxMetadataBytes,
        Queue = Int(ref fields, "queue") ?? ProtocolDefaults.ServiceQueueLimit,
    };

    /// <summary>A member that fits an <see cref="int"/>.</summary>
    internal static int? Int(ref JsonFields fields, string name)
    {
        var value = fields.GetUInt32(name);
        if (value is > int.MaxValue)
        {
            fields.Invalid($"field '{name}' must be below 2^31");
            return null;
        }

        return (int?)value;
    }
}

/// <summary><c>WLCM.defaults</c> (PROTOCOL.md §5.2, §5.6); each member defaults to the protocol's default.</summary>
public sealed record WelcomeDefaults
{
    /// <summary>The protocol's defaults (§5.6).</summary>
    public static WelcomeDefaults Default { get; } = new();

    /// <summary><c>prefetch</c> (default: 64).</summary>
    public int Prefetch { get; init; } = ProtocolDefaults.Prefetch;

    /// <summary><c>ackTimeout</c>, in milliseconds (default: 30,000).</summary>
    public long AckTimeout { get; init; } = ProtocolDefaults.AckTimeoutMs;

    /// <summary><c>maxAttempts</c> (default: 5).</summary>
    public int MaxAttempts { get; init; } = ProtocolDefaults.MaxAttempts;

    /// <summary>Writes the object: prefetch, ackTimeout, maxAttempts.</summary>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "prefetch", Prefetch);
        MessageFields.Write(writer, "ackTimeout", AckTimeout);
        MessageFields.Write(writer, "maxAttempts", MaxAttempts);
        writer.WriteEndObject();
    }

    internal static WelcomeDefaults Read(ref JsonFields fields) => new()
    {
        Prefetch = WelcomeLimits.Int(ref fields, "prefetch") ?? ProtocolDefaults.Prefetch,
        AckTimeout = fields.GetCount("ackTimeout") ?? ProtocolDefaults.AckTimeoutMs,
        MaxAttempts = WelcomeLimits.Int(ref fields, "maxAttempts") ?? ProtocolDefaults.MaxAttempts,
    };
}

/// <summary>
/// <c>WLCM.resumed</c> (PROTOCOL.md §5.2): what the earlier session of a resumed id missed; <see cref="Away"/> and
/// <see cref="Ended"/> only when it was a departed session (§4.4).
/// </summary>
/// <param name="Missed">Deliveries dropped for it and not yet told with <c>SLOW</c> (for a departed session, with what its multicatch subscriptions missed).</param>
public sealed record WelcomeResumed(long Missed)
{
    /// <summary><see cref="Ended"/> for a session that went silent for the liveness timeout.</summary>
    public const string Silent = "silent";

    /// <summary><see cref="Ended"/> for a session that was cut off (§8.2).</summary>
    public const string NotReading = "not_reading";

    /// <summary><see cref="Ended"/> for a session whose connection closed.</summary>
    public const string Disconnected = "disconnected";

    /// <summary><c>away</c>: milliseconds (of the transmitter's routing clock) since the session ended.</summary>
    public long? Away { get; init; }

    /// <summary><c>ended</c>: why it ended (<see cref="Silent"/>, <see cref="NotReading"/>, <see cref="Disconnected"/>; a newer transmitter may add others).</summary>
    public string? Ended { get; init; }

    /// <summary>Writes the object: missed, then away and ended when present.</summary>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "missed", Missed);
        MessageFields.WriteIfPresent(writer, "away", Away);
        MessageFields.WriteIfPresent(writer, "ended", Ended);
        writer.WriteEndObject();
    }

    internal static WelcomeResumed? Read(ref JsonFields fields)
    {
        var missed = fields.GetCount("missed", required: true);
        var away = fields.GetCount("away");
        var ended = fields.GetString("ended");
        return missed is null ? null : new WelcomeResumed(missed.Value) { Away = away, Ended = ended };
    }
}

/// <summary>A transmitter as <c>WLCM.transmitters</c> lists it (PROTOCOL.md §5.2).</summary>
/// <param name="Id">Its THID.</param>
/// <param name="CommandEndpoint"><c>command</c>: its command endpoint.</param>
/// <param name="Pub"><c>pub</c>: its event endpoint.</param>
public sealed record TransmitterAddress(Thid Id, string CommandEndpoint, string Pub)
{
    /// <summary>Writes the object: id, command, pub.</summary>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "id", Id.ToString());
        MessageFields.Write(writer, "command", CommandEndpoint);
        MessageFields.Write(writer, "pub", Pub);
        writer.WriteEndObject();
    }

    /// <summary>Writes the property <c>transmitters</c>: an array of these objects.</summary>
    internal static void WriteAll(JsonWriter writer, IReadOnlyList<TransmitterAddress> transmitters) =>
        MessageFields.WriteArray(writer, "transmitters", transmitters, static (json, transmitter) => transmitter.WriteJson(json));

    internal static IReadOnlyList<TransmitterAddress> ReadAll(JArray? array, ref JsonFields outer)
    {
        if (array is null)
        {
            return [];
        }

        var result = new List<TransmitterAddress>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JObject entry)
            {
                outer.Invalid($"transmitters[{i}] must be an object");
                return [];
            }

            if (MessageFields.ReadObject(entry, ref outer, $"transmitters[{i}]: ", Read) is not { } transmitter)
            {
                return [];
            }

            result.Add(transmitter);
        }

        return result;
    }

    private static TransmitterAddress Read(ref JsonFields fields)
    {
        var id = fields.GetThid("id", required: true);
        var command = fields.GetString("command", required: true);
        var pub = fields.GetString("pub", required: true);
        return new TransmitterAddress(id, command!, pub!);
    }
}
