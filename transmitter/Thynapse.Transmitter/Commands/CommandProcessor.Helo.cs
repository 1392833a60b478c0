using System.Security.Cryptography;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Commands;

internal sealed partial class CommandProcessor
{
    /// <summary>The protocol version this transmitter speaks.</summary>
    public const int ProtocolVersion = 1;

    private void HandleHelo(ReadOnlySpan<byte> routingId, JObject request, FieldReader fields, long now)
    {
        var idText = fields.GetString("id", required: true);
        var service = fields.GetString("service", required: true);
        var protocol = fields.GetUInt64("protocol");
        var encodings = fields.GetArray("encodings");
        var subs = fields.GetArray("subs");
        var resume = fields.GetString("resume");
        var metadata = fields.GetObject("metadata");
        var tagsField = fields.GetArray("tags");
        var credit = fields.GetBoolean("credit") ?? false;
        var tags = fields.Error is null && tagsField is not null ? ReadTags(tagsField, fields) : [];
        if (fields.Error is null && !Thid.TryParse(idText, out _))
        {
            fields.Invalid("field 'id' must be a THID: 40 hexadecimal characters");
        }

        if (fields.Error is null && !ServiceName.TryValidate(service, out var serviceError))
        {
            fields.Invalid($"field 'service': {serviceError}");
        }

        var acceptsBinary = fields.Error is null && ReadEncodings(encodings, fields);
        var code = ThynapseErrorCode.InvalidField;
        var subscriptions = fields.Error is null ? ReadHeloSubscriptions(subs, fields, out code) : null;
        if (fields.Error is { } error)
        {
            Reject(routingId, null, Command.Helo, code, error, request);
            return;
        }

        if (metadata is not null && !FitsMetadataLimit(metadata, out var metadataSize))
        {
            Reject(routingId, null, Command.Helo, ThynapseErrorCode.MetadataTooLarge, $"the metadata takes {metadataSize} bytes; the limit is {_options.MaxMetadataBytes}", request);
            return;
        }

        if (protocol is { } version && version != ProtocolVersion)
        {
            Reject(routingId, null, Command.Helo, ThynapseErrorCode.UnsupportedProtocol, $"this transmitter speaks protocol {ProtocolVersion}, not {version}", request);
            return;
        }

        if (_shuttingDown)
        {
            Reject(routingId, null, Command.Helo, ThynapseErrorCode.ShuttingDown, "the transmitter is shutting down", request);
            return;
        }

        var id = Thid.Parse(idText);
        JObject? resumed = null;
        string? keptToken = null;
        if (_sessions.TryGetById(id, out var existing))
        {
            // Only the holder of the resume token may take a live id over: ids are not secrets, tokens are.
            if (!TokenMatches(resume, existing))
            {
                Reject(routingId, null, Command.Helo, ThynapseErrorCode.IdInUse, $"cell {id} is connected; a reconnecting cell proves itself with 'resume'", request);
                return;
            }

            keptToken = existing.ResumeToken;
            RemoveSession(existing, SessionEnd.Resumed); // first: what its backlog held is dropped and counted
            resumed = Resumed(existing, now);
        }
        else if (_departed.TryTake(id, out var departed))
        {
            // The cell comes back after its session ended without a goodbye: tell it what it missed meanwhile.
            RemoveGhostRoutes(departed);
            if (TokenMatches(resume, departed))
            {
                resumed = Resumed(departed, now);
                keptToken = departed.ResumeToken;
            }
        }

        // A resumed session keeps its token: a cell whose HELO crossed a lost connection (or went out on two of them)
        // then proves itself with the same token whichever of its HELOs is answered first.
        var session = new CellSession(routingId.ToArray(), id, service!, acceptsBinary, keptToken ?? NewToken(), now)
        {
            Metadata = metadata ?? [],
            Tags = tags ?? [],
            UsesCredit = credit,
        };
        _sessions.Add(session);
        var added = subscriptions!.Select(wanted => AddSubscription(session, wanted)).ToList();

        TransmitterCounters.Increment(ref _counters.CellsJoined);
        TransmitterCounters.Add(ref _counters.Cells, 1);
        _log.Information("Cell {CellId} of {Service} joined with {Subscriptions} subscriptions{Resumed}",
            id, service, session.Subscriptions.Count, resumed is null ? "" : $" (resumed; {resumed.Value<long>("missed")} deliveries missed meanwhile)");

        var welcome = new JObject
        {
            ["id"] = _id.ToString(),
            ["pub"] = _eventsEndpoint,
            ["protocol"] = ProtocolVersion,
            ["session"] = session.ResumeToken,
            ["heartbeat"] = (long)_options.HeartbeatInterval.TotalMilliseconds,
            ["liveness"] = (long)_options.LivenessTimeout.TotalMilliseconds,
            ["encodings"] = acceptsBinary ? new JArray("J", "B") : new JArray("J"),
            ["limits"] = new JObject
            {
                ["frame"] = _options.MaxFrameBytes,
                ["header"] = _options.MaxHeaderBytes,
                ["subscriptions"] = _options.MaxSubscriptionsPerCell,
                ["channel"] = Channel.MaxLength,
                ["metadata"] = _options.MaxMetadataBytes,
                ["queue"] = _options.ServiceQueueLimit, // per service: acknowledged anycatch events waiting for room (§4.5, §8.1)
            },
            ["defaults"] = new JObject
            {
                ["prefetch"] = _options.DefaultPrefetch,
                ["ackTimeout"] = (long)_options.DefaultAckTimeout.TotalMilliseconds,
                ["maxAttempts"] = _options.DefaultMaxAttempts,
            },
            ["transmitters"] = new JArray(new JObject
            {
                ["id"] = _id.ToString(),
                ["command"] = _commandEndpoint,
                ["pub"] = _eventsEndpoint,
            }),
        };
        if (credit)
        {
            // Every cell starts with the smallest window and gets its share of the pool with its first top-up: cells that
            // joined together before any of them published would otherwise each hold a window sized for one publisher.
            session.Credit = MinCreditWindow;
            welcome["credit"] = session.Credit;
        }

        if (resumed is not null)
        {
            welcome["resumed"] = resumed;
        }

        Reply(session, Command.Wlcm, welcome, request);

        foreach (var subscription in added)
        {
            RoomFreed(subscription); // a returning worker picks up what waited for it
        }

        Announce(session, joined: true);
    }

    private static bool ReadEncodings(JArray? encodings, FieldReader fields)
    {
        if (encodings is null)
        {
            return false;
        }

        var binary = false;
        foreach (var item in encodings)
        {
            if (item.Type != JTokenType.String)
            {
                fields.Invalid("field 'encodings' must be an array of strings such as [\"B\", \"J\"]");
                return false;
            }

            // Unknown encodings are ignored: a newer cell may list encodings this transmitter does not speak.
            binary |= (string)item! == "B";
        }

        return binary;
    }

    private List<SubscriptionRequest>? ReadHeloSubscriptions(JArray? subs, FieldReader fields, out ThynapseErrorCode code)
    {
        code = ThynapseErrorCode.InvalidField;
        var result = new List<SubscriptionRequest>();
        if (subs is null)
        {
            return result;
        }

        if (subs.Count > _options.MaxSubscriptionsPerCell)
        {
            code = ThynapseErrorCode.TooManySubscriptions;
            fields.Invalid($"field 'subs' has {subs.Count} entries; the limit is {_options.MaxSubscriptionsPerCell}");
            return null;
        }

        var ids = new HashSet<uint>();
        for (var i = 0; i < subs.Count; i++)
        {
            if (subs[i] is not JObject entry)
            {
                code = ThynapseErrorCode.InvalidField;
                fields.Invalid($"subs[{i}] must be an object with 'sub', 'pattern' and 'mode'");
                return null;
            }

            var entryFields = new FieldReader(entry);
            if (!TryReadSubscription(entryFields, out var wanted, out code, out var problem))
            {
                fields.Invalid($"subs[{i}]: {problem}");
                return null;
            }

            if (!ids.Add(wanted.Id))
            {
                code = ThynapseErrorCode.DuplicateSubscription;
                fields.Invalid($"subs[{i}]: subscription id {wanted.Id} appears twice");
                return null;
            }

            result.Add(wanted);
        }

        return result;
    }

    private static bool TokenMatches(string? resume, CellSession session) => resume is not null && CryptographicOperations.FixedTimeEquals(
        System.Text.Encoding.ASCII.GetBytes(resume), System.Text.Encoding.ASCII.GetBytes(session.ResumeToken));

    /// <summary>
    /// What the cell's earlier session lost and never reported (<c>WLCM.resumed</c>, PROTOCOL.md §5.2): deliveries
    /// dropped for it, including those routed while it was away, and how long it was away and why.
    /// </summary>
    private JObject Resumed(CellSession earlier, long now)
    {
        var resumed = new JObject { ["missed"] = earlier.UnreportedMissed };
        if (earlier.EndedBy is SessionEnd.Expired or SessionEnd.CutOff or SessionEnd.Disconnected)
        {
            resumed["away"] = (long)_clock.SpanOf(now - earlier.EndedAt).TotalMilliseconds;
            resumed["ended"] = earlier.EndedBy switch
            {
                SessionEnd.Expired => "silent",
                SessionEnd.CutOff => "not_reading",
                _ => "disconnected",
            };
        }

        earlier.UnreportedMissed = 0;
        return resumed;
    }

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
