using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>HELO</c>, cell → transmitter (PROTOCOL.md §5.1): join, or re-join with <see cref="Resume"/>.</summary>
/// <param name="Id">The cell's THID.</param>
/// <param name="Service">The cell's service (§3.3).</param>
public sealed record HelloMessage(Thid Id, string Service) : JsonRequest
{
    /// <summary><c>protocol</c> as sent; null when absent, which means version 1 (§10).</summary>
    public ulong? Protocol { get; init; }

    /// <summary><c>encodings</c> as sent (unknown entries kept); null when absent, which means <c>["J"]</c>.</summary>
    public IReadOnlyList<string>? Encodings { get; init; }

    /// <summary><c>metadata</c>; null when absent (the cell has none).</summary>
    public JObject? Metadata { get; init; }

    /// <summary><c>tags</c> (read: duplicates dropped); null when absent (the cell has none).</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary><c>subs</c>: subscriptions to hold from the start; null when absent (none).</summary>
    public IReadOnlyList<SubscribeMessage>? Subscriptions { get; init; }

    /// <summary><c>credit</c>: the cell publishes with credit (§8.4). Written only when true.</summary>
    public bool Credit { get; init; }

    /// <summary><c>resume</c>: the <c>session</c> token of an earlier <c>WLCM</c>.</summary>
    public string? Resume { get; init; }

    /// <summary>
    /// <c>secret</c>: the transmitter's shared secret, or a per-service credential's (§5.1). Null when absent. Never
    /// logged: <see cref="ToString"/> leaves it out.
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>
    /// <c>key</c>: the proof that the cell holds the secret key of its CURVE public key (§5.1), for a transmitter with an
    /// allow-list of cell keys. Null when absent.
    /// </summary>
    public KeyProof? Key { get; init; }

    /// <inheritdoc />
    public override Command Command => Command.Helo;

    /// <summary>True when the cell reads <c>B</c> (it listed <c>"B"</c> in <see cref="Encodings"/>, §2.2).</summary>
    public bool AcceptsBinary => Encodings?.Contains("B") == true;

    /// <summary>
    /// Reads and checks a <c>HELO</c> payload as the transmitter does, in its order: <c>UNSUPPORTED_PROTOCOL</c> first
    /// (§10), then field types, tags, the id, the service, the encodings, the subscriptions (<c>INVALID_FIELD</c>, or
    /// an entry's own code naming its index, §5.1), then <c>METADATA_TOO_LARGE</c>. Whether the id is in use, and
    /// whether the transmitter shuts down, depend on the transmitter, not the message.
    /// </summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out HelloMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, Read, out message, out code, out error);

    private static HelloMessage? Read(ref JsonFields fields)
    {
        // The version first: a HELO of another version may hold fields this one reads otherwise (§10).
        var protocol = fields.GetUInt64("protocol");
        if (protocol is { } version && version != ProtocolVersion.Current)
        {
            fields.Refuse(ThynapseErrorCode.UnsupportedProtocol, $"this transmitter speaks protocol {ProtocolVersion.Current}, not {version}");
            return null;
        }

        var idText = fields.GetString("id", required: true);
        var service = fields.GetString("service", required: true);
        var encodingsField = fields.GetArray("encodings");
        var subsField = fields.GetArray("subs");
        var resume = fields.GetString("resume");
        var secret = fields.GetString("secret");
        var metadata = fields.GetObject("metadata");
        var tagsField = fields.GetArray("tags");
        var credit = fields.GetBoolean("credit") ?? false;
        var keyField = fields.GetObject("key");
        var tags = fields.Error is null && tagsField is not null ? MessageFields.ReadTags(tagsField, ref fields) : null;
        var id = default(Thid);
        if (fields.Error is null && !Thid.TryParse(idText, out id))
        {
            fields.Invalid("field 'id' must be a THID: 40 hexadecimal characters");
        }

        if (fields.Error is null && !ServiceName.TryValidate(service, out var serviceError))
        {
            fields.Invalid($"field 'service': {serviceError}");
        }

        // Unknown encodings are not an error: a newer cell may list encodings this transmitter does not speak.
        var encodings = fields.Error is null
            ? MessageFields.ReadStrings(encodingsField, ref fields, "field 'encodings' must be an array of strings such as [\"B\", \"J\"]")
            : null;
        var key = fields.Error is null && keyField is not null ? MessageFields.ReadObject(keyField, ref fields, "field 'key': ", ReadKey) : null;
        var limits = fields.Limits;
        var subscriptions = fields.Error is null ? ReadSubscriptions(subsField, limits, ref fields) : null;
        if (fields.Error is not null)
        {
            return null;
        }

        if (metadata is not null && !limits.FitsMetadata(metadata, out var size))
        {
            fields.Refuse(ThynapseErrorCode.MetadataTooLarge, $"the metadata takes {size} bytes; the limit is {limits.MaxMetadataBytes}");
            return null;
        }

        return new HelloMessage(id, service!)
        {
            Protocol = protocol,
            Encodings = encodings,
            Metadata = metadata,
            Tags = tags,
            Subscriptions = subscriptions,
            Credit = credit,
            Resume = resume,
            Secret = secret,
            Key = key,
            Ref = fields.Ref,
        };
    }

    /// <inheritdoc />
    /// <remarks>The SDK's order: id, service, protocol, encodings, metadata, tags, subs, credit, resume, secret, key, ref.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "id", Id.ToString());
        MessageFields.Write(writer, "service", Service);
        MessageFields.WriteIfPresent(writer, "protocol", Protocol);
        MessageFields.WriteIfPresent(writer, "encodings", Encodings);
        MessageFields.WriteIfPresent(writer, "metadata", Metadata);
        MessageFields.WriteIfPresent(writer, "tags", Tags);
        if (Subscriptions is not null)
        {
            MessageFields.WriteArray(writer, "subs", Subscriptions, static (json, subscription) => subscription.WriteEntry(json));
        }

        MessageFields.WriteIfSet(writer, "credit", Credit);
        MessageFields.WriteIfPresent(writer, "resume", Resume);
        MessageFields.WriteIfPresent(writer, "secret", Secret);
        if (Key is not null)
        {
            writer.WritePropertyName("key");
            writer.WriteStartObject();
            MessageFields.Write(writer, "public", Key.Public);
            MessageFields.Write(writer, "nonce", Convert.ToHexStringLower(Key.Nonce));
            MessageFields.Write(writer, "box", Convert.ToHexStringLower(Key.Box));
            writer.WriteEndObject();
        }

        MessageFields.WriteRef(writer, Ref);
    }

    /// <summary>
    /// <c>secret</c> as a transmitter reads it before anything else in a <c>HELO</c> (§5.1): a string, or null when it is
    /// absent or not a string (which no secret matches), so that a stranger learns nothing but <c>AUTHENTICATION_FAILED</c>.
    /// </summary>
    public static string? SecretOf(JObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return body.TryGetValue("secret", StringComparison.Ordinal, out var value) && value.Type == JTokenType.String ? (string?)value : null;
    }

    /// <summary>The message without its <see cref="Secret"/>, for logs.</summary>
    public override string ToString() => $"HELO {{ Id = {Id}, Service = {Service}, Resume = {(Resume is null ? "none" : "given")}, Secret = {(Secret is null ? "none" : "given")}, Key = {Key?.Public ?? "none"} }}";


    /// <summary><c>HELO.key</c>: a Z85 public key, a hex nonce and a hex box of their exact lengths, or <c>INVALID_FIELD</c>.</summary>
    private static KeyProof? ReadKey(ref JsonFields fields)
    {
        var publicKey = fields.GetString("public", required: true);
        var nonce = fields.GetString("nonce", required: true);
        var box = fields.GetString("box", required: true);
        if (fields.Error is not null)
        {
            return null;
        }

        if (!CurveKeys.IsKey(publicKey))
        {
            fields.Invalid("'public' must be a Z85 CURVE public key, 40 characters");
            return null;
        }

        if (!TryHex(nonce!, KeyProof.NonceLength, out var nonceBytes) || !TryHex(box!, KeyProof.BoxLength, out var boxBytes))
        {
            fields.Invalid($"'nonce' must be {KeyProof.NonceLength * 2} and 'box' {KeyProof.BoxLength * 2} hexadecimal characters");
            return null;
        }

        return new KeyProof(publicKey!, nonceBytes, boxBytes);
    }

    private static bool TryHex(string text, int length, out byte[] bytes)
    {
        bytes = new byte[length];
        return text.Length == length * 2
            && Convert.FromHexString(text, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == length;
    }

    /// <summary><c>HELO.subs</c>: each entry as in <c>SUBS</c>, naming the index of the first bad one.</summary>
    private static List<SubscribeMessage>? ReadSubscriptions(JArray? subs, MessageLimits limits, ref JsonFields fields)
    {
        if (subs is null)
        {
            return null;
        }

        if (subs.Count > limits.MaxSubscriptionsPerCell)
        {
            fields.Refuse(ThynapseErrorCode.TooManySubscriptions, $"field 'subs' has {subs.Count} entries; the limit is {limits.MaxSubscriptionsPerCell}");
            return null;
        }

        var result = new List<SubscribeMessage>(subs.Count);
        var ids = new HashSet<uint>();
        for (var i = 0; i < subs.Count; i++)
        {
            if (subs[i] is not JObject entry)
            {
                fields.Invalid($"subs[{i}] must be an object with 'sub', 'pattern' and 'mode'");
                return null;
            }

            if (MessageFields.ReadObject(entry, ref fields, $"subs[{i}]: ", static (ref JsonFields entryFields) => SubscribeMessage.ReadEntry(ref entryFields, null)) is not { } wanted)
            {
                return null;
            }

            if (!ids.Add(wanted.Sub))
            {
                fields.Refuse(ThynapseErrorCode.DuplicateSubscription, $"subs[{i}]: subscription id {wanted.Sub} appears twice");
                return null;
            }

            result.Add(wanted);
        }

        return result;
    }
}
