using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The version of a cell record (PROTOCOL.md §12.8): the owner's incarnation when it made the change, and the owner's
/// change counter (one counter for all its cells, from 1 in every process). Compared incarnation first.
/// </summary>
internal readonly record struct CellVersion(long Incarnation, long Counter) : IComparable<CellVersion>
{
    public int CompareTo(CellVersion other) => Incarnation != other.Incarnation ? Incarnation.CompareTo(other.Incarnation) : Counter.CompareTo(other.Counter);

    public static bool operator >(CellVersion a, CellVersion b) => a.CompareTo(b) > 0;

    public static bool operator <(CellVersion a, CellVersion b) => a.CompareTo(b) < 0;

    public static bool operator >=(CellVersion a, CellVersion b) => a.CompareTo(b) >= 0;

    public static bool operator <=(CellVersion a, CellVersion b) => a.CompareTo(b) <= 0;

    public JArray ToJson() => [Incarnation, Counter];

    public static CellVersion? Read(JToken? token)
    {
        if (token is not JArray { Count: 2 } pair || pair[0] is not JValue { Type: JTokenType.Integer } i || pair[1] is not JValue { Type: JTokenType.Integer } n
            || (long)i < 1 || (long)n < 0)
        {
            return null;
        }

        return new CellVersion((long)i, (long)n);
    }

    public override string ToString() => $"{Incarnation}.{Counter}";
}

/// <summary>
/// What an owner says about one of its cells (§12.8): up (with its profile and its subscriptions, the cell's interest)
/// or down (a tombstone), at a version. The subscriptions are the whole set, as <c>SUBS</c> entries with the owner's
/// defaults filled in, never a difference: interest travels as latest state with its version.
/// </summary>
internal sealed record CellRecord(Thid Id, bool Up, CellVersion Version, string Service, JObject Metadata, string[] Tags)
{
    /// <summary>The cell's live subscriptions (up records only).</summary>
    public IReadOnlyList<SubscribeMessage> Subscriptions { get; init; } = [];

    /// <summary><c>claim</c>: the generation of the owner's claim on the cell (0: the owner predates claims).</summary>
    public long Claim { get; init; }

    /// <summary><c>proof</c>: SHA-256 of the cell's THID and resume token, hex ("" when absent).</summary>
    public string Proof { get; init; } = "";

    public static CellRecord Of(CellProfile profile, CellVersion version) =>
        new(profile.Id, true, version, profile.Service, profile.Metadata, profile.Tags) { Subscriptions = SubscriptionsOf(profile), Claim = profile.Claim, Proof = profile.Proof };

    public static CellRecord Down(Thid id, CellVersion version) => new(id, false, version, "", [], []);

    /// <summary>A profile's live subscriptions as <c>SUBS</c> entries, acknowledgement settings spelled out, by id.</summary>
    public static SubscribeMessage[] SubscriptionsOf(CellProfile profile)
    {
        var subs = new List<SubscribeMessage>(profile.Subscriptions.Count);
        foreach (var s in profile.Subscriptions.Values)
        {
            if (!s.Active)
            {
                continue;
            }

            subs.Add(s.Acks is { } acks
                ? new SubscribeMessage(s.Id, s.Pattern, s.Mode)
                {
                    Ack = true, Prefetch = (uint)acks.Prefetch, AckTimeout = (uint)acks.AckTimeout.TotalMilliseconds, MaxAttempts = (uint)acks.MaxAttempts,
                }
                : new SubscribeMessage(s.Id, s.Pattern, s.Mode));
        }

        subs.Sort((a, b) => a.Sub.CompareTo(b.Sub));
        return [.. subs];
    }

    public JObject ToJson()
    {
        var json = new JObject { ["id"] = Id.ToString(), ["state"] = Up ? "up" : "down", ["version"] = Version.ToJson() };
        if (Up)
        {
            json["service"] = Service;
            json["tags"] = new JArray(Tags);
            json["metadata"] = Metadata.DeepClone();
            json["subs"] = new JArray(Subscriptions.Select(s => s.ToJson()));
            json["claim"] = Claim;
            json["proof"] = Proof;
        }

        return json;
    }

    public static CellRecord? Read(JToken token, int index, out string? error)
    {
        if (token is not JObject json)
        {
            error = $"cells[{index}] must be an object";
            return null;
        }

        var fields = new FieldReader(json);
        var id = fields.GetString("id", required: true);
        var state = fields.GetString("state", required: true);
        var service = fields.GetString("service");
        var tags = fields.GetArray("tags");
        var metadata = fields.GetObject("metadata");
        var subs = fields.GetArray("subs");
        var version = CellVersion.Read(json["version"]);
        var claim = fields.GetUInt64("claim");
        var proof = fields.GetString("proof");
        if (fields.Error is null)
        {
            MeshFields.CheckId(fields, "id", id);
            if (fields.Error is null && state is not ("up" or "down"))
            {
                fields.Invalid($"field 'state' must be up or down, not '{state}'");
            }
            else if (fields.Error is null && version is null)
            {
                fields.Invalid("field 'version' must be [incarnation, counter]: two integers, the first from 1");
            }
            else if (fields.Error is null && state == "up" && service is null)
            {
                fields.Invalid("field 'service' is required when 'state' is up");
            }
        }

        string[] tagList = [];
        if (fields.Error is null && tags is not null)
        {
            tagList = fields.ReadTags(tags) ?? [];
        }

        var subscriptions = new List<SubscribeMessage>();
        for (var i = 0; fields.Error is null && subs is not null && i < subs.Count; i++)
        {
            if (subs[i] is not JObject entry)
            {
                fields.Invalid($"subs[{i}] must be an object");
            }
            else if (!SubscribeMessage.TryRead(entry, MessageLimits.Default, out var sub, out _, out var subError))
            {
                fields.Invalid($"subs[{i}]: {subError}");
            }
            else
            {
                subscriptions.Add(sub);
            }
        }

        if (fields.Error is { } problem)
        {
            error = $"cells[{index}]: {problem}";
            return null;
        }

        error = null;
        return new CellRecord(Thid.Parse(id), state == "up", version!.Value, service ?? "", metadata ?? [], tagList) { Subscriptions = subscriptions, Claim = (long)Math.Min(claim ?? 0, long.MaxValue), Proof = proof ?? "" };
    }

    public static JArray Array(IEnumerable<CellRecord> records) => [.. records.Select(r => r.ToJson())];

    public static bool TryReadAll(JArray? cells, out List<CellRecord> records, out string? error)
    {
        records = [];
        error = null;
        if (cells is null)
        {
            return true;
        }

        for (var i = 0; i < cells.Count; i++)
        {
            if (Read(cells[i], i, out error) is not { } record)
            {
                return false;
            }

            records.Add(record);
        }

        return true;
    }
}

/// <summary>
/// All of an owner's live cells as of its version <paramref name="At"/> (§12.8): carried by the <c>MEMB</c> that answers a
/// <c>JOIN</c> (fields <c>cells</c> and <c>cellsAt</c>). A cell of that owner it does not list, held at a version up to
/// <paramref name="At"/>, is down.
/// </summary>
internal sealed record CellSnapshot(CellVersion At, IReadOnlyList<CellRecord> Cells);

/// <summary><c>CELS</c> (broadcast, event socket): cell records that just changed at their owner, the sender (§12.8).</summary>
internal sealed record CellsMessage(StreamHeader Header, IReadOnlyList<CellRecord> Cells)
{
    public byte[] ToFrame() => MeshFrames.Frame(MeshCommand.Cels, Header.ToJson(new JObject { ["cells"] = CellRecord.Array(Cells) }));

    public static bool TryRead(JObject json, out CellsMessage? message, out string? error)
    {
        message = null;
        var fields = new FieldReader(json);
        var header = StreamHeader.Read(fields);
        var cells = fields.GetArray("cells", required: true);
        if (fields.Error is not null || header is null)
        {
            error = fields.Error;
            return false;
        }

        if (!CellRecord.TryReadAll(cells, out var records, out error))
        {
            return false;
        }

        message = new CellsMessage(header.Value, records);
        return true;
    }
}
