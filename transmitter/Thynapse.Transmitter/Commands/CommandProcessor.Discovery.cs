using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Commands;

// Metadata, discovery and membership watches (PROTOCOL.md §5.15–5.17).
internal sealed partial class CommandProcessor
{
    /// <summary>Tags a cell may carry, and their length.</summary>
    public const int MaxTags = 64;

    private readonly List<Watch> _watches = [];

    private void HandleMeta(CellSession session, JObject request, FieldReader fields)
    {
        var metadata = fields.GetObject("metadata");
        var mode = fields.GetString("mode") ?? "merge";
        var tagsField = fields.GetArray("tags");
        if (fields.Error is null && mode is not ("merge" or "replace"))
        {
            fields.Invalid("field 'mode' must be \"merge\" or \"replace\"");
        }

        var tags = fields.Error is null && tagsField is not null ? ReadTags(tagsField, fields) : null;
        if (fields.Error is { } error)
        {
            Reject(session.RoutingId, session, Command.Meta, ThynapseErrorCode.InvalidField, error, request);
            return;
        }

        var updated = metadata is null ? session.Metadata : mode == "replace" ? (JObject)metadata.DeepClone() : Merge(session.Metadata, metadata);
        if (!FitsMetadataLimit(updated, out var size))
        {
            Reject(session.RoutingId, session, Command.Meta, ThynapseErrorCode.MetadataTooLarge, $"the metadata would take {size} bytes; the limit is {_options.MaxMetadataBytes}", request);
            return;
        }

        // Applied before the answer: any event routed after the OKAY sees the new metadata (narrowed plans are
        // recomputed at the new epoch).
        session.Metadata = updated;
        _metadataEpoch++;
        session.Tags = tags ?? session.Tags;
        Reply(session, Command.Okay, new JObject { ["command"] = "META" }, request);
        Announce(session, joined: false);
    }

    private void HandleList(CellSession session, JObject request, FieldReader fields)
    {
        if (!TryReadFilter(fields, out var filter, out var code, out var error))
        {
            Reject(session.RoutingId, session, Command.List, code, error, request);
            return;
        }

        var cells = new JArray();
        foreach (var cell in _sessions.All)
        {
            if (filter.Matches(cell))
            {
                cells.Add(CellFilter.Describe(cell, _id));
            }
        }

        Reply(session, Command.Okay, new JObject { ["command"] = "LIST", ["cells"] = cells }, request);
    }

    private void HandleWatch(CellSession session, JObject request, FieldReader fields)
    {
        var id = fields.GetUInt32("watch", required: true);
        if (!TryReadFilter(fields, out var filter, out var code, out var error))
        {
            Reject(session.RoutingId, session, Command.Wtch, code, error, request);
            return;
        }

        if (_watches.Exists(w => ReferenceEquals(w.Watcher, session) && w.Id == id))
        {
            Reject(session.RoutingId, session, Command.Wtch, ThynapseErrorCode.DuplicateWatch, $"watch {id} exists", request);
            return;
        }

        if (_watches.Count(w => ReferenceEquals(w.Watcher, session)) >= _options.MaxWatchesPerCell)
        {
            Reject(session.RoutingId, session, Command.Wtch, ThynapseErrorCode.TooManySubscriptions, $"a cell may hold {_options.MaxWatchesPerCell} watches", request);
            return;
        }

        var watch = new Watch(session, id!.Value, filter);
        var cells = new JArray();
        foreach (var cell in _sessions.All)
        {
            if (filter.Matches(cell))
            {
                watch.Matching.Add(cell);
                cells.Add(CellFilter.Describe(cell, _id));
            }
        }

        _watches.Add(watch);
        Reply(session, Command.Okay, new JObject { ["command"] = "WTCH", ["watch"] = id, ["cells"] = cells }, request);
    }

    private void HandleUnwatch(CellSession session, JObject request, FieldReader fields)
    {
        var id = fields.GetUInt32("watch", required: true);
        if (fields.Error is { } error)
        {
            Reject(session.RoutingId, session, Command.Unwt, ThynapseErrorCode.InvalidField, error, request);
            return;
        }

        if (_watches.RemoveAll(w => ReferenceEquals(w.Watcher, session) && w.Id == id) == 0)
        {
            Reject(session.RoutingId, session, Command.Unwt, ThynapseErrorCode.UnknownWatch, $"this cell has no watch {id}", request);
            return;
        }

        Reply(session, Command.Okay, new JObject { ["command"] = "UNWT", ["watch"] = id }, request);
    }

    /// <summary>Tells every watch whose filter this cell matches (or matched) that it joined, changed or left.</summary>
    private void Announce(CellSession cell, bool joined)
    {
        if (_watches.Count == 0)
        {
            return;
        }

        JObject? description = null;
        foreach (var watch in _watches.ToArray()) // a send can end a session, which edits the list
        {
            if (watch.Watcher.Closed)
            {
                continue;
            }

            var was = watch.Matching.Contains(cell);
            var now = !cell.Closed && watch.Filter.Matches(cell);
            var change = (was, now) switch
            {
                (false, true) => "joined",
                (true, true) => joined ? "joined" : "updated",
                (true, false) => "left",
                _ => null,
            };
            if (change is null)
            {
                continue;
            }

            if (now)
            {
                watch.Matching.Add(cell);
            }
            else
            {
                watch.Matching.Remove(cell);
            }

            description ??= CellFilter.Describe(cell, _id);
            Send(watch.Watcher, JsonPayload.Frame(Command.Cell, new JObject { ["watch"] = watch.Id, ["change"] = change, ["cell"] = description }));
        }
    }

    /// <summary>Drops a departed cell's watches and tells the others it left.</summary>
    private void ForgetWatches(CellSession session)
    {
        _watches.RemoveAll(w => ReferenceEquals(w.Watcher, session));
        Announce(session, joined: false);
    }

    private bool TryReadFilter(FieldReader fields, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CellFilter? filter, out ThynapseErrorCode code, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        filter = null;
        code = ThynapseErrorCode.InvalidField;
        var service = fields.GetString("service");
        var tagsField = fields.GetArray("tags");
        var queryField = fields.GetObject("query");
        var tags = fields.Error is null && tagsField is not null ? ReadTags(tagsField, fields) : [];
        if (fields.Error is { } fieldError)
        {
            error = fieldError;
            return false;
        }

        MetadataQuery? query = null;
        if (queryField is not null && !MetadataQuery.TryParse(queryField, _options.QueryLimits, out query, out var problem))
        {
            code = problem.Kind switch
            {
                QueryErrorKind.TooDeep => ThynapseErrorCode.QueryTooDeep,
                QueryErrorKind.TooLarge => ThynapseErrorCode.QueryTooLarge,
                _ => ThynapseErrorCode.InvalidQuery,
            };
            error = $"query: {problem.Message}";
            return false;
        }

        filter = new CellFilter(service, tags ?? [], query);
        error = null;
        return true;
    }

    private static string[]? ReadTags(JArray tags, FieldReader fields)
    {
        if (tags.Count > MaxTags)
        {
            fields.Invalid($"field 'tags' has {tags.Count} entries; the limit is {MaxTags}");
            return null;
        }

        var result = new List<string>(tags.Count);
        foreach (var tag in tags)
        {
            if (tag.Type != JTokenType.String || (string?)tag is not { Length: > 0 and <= 64 } text)
            {
                fields.Invalid("field 'tags' must be an array of strings of 1 to 64 characters");
                return null;
            }

            if (!result.Contains(text))
            {
                result.Add(text);
            }
        }

        return [.. result];
    }

    private bool FitsMetadataLimit(JObject metadata, out int size)
    {
        size = Encoding.UTF8.GetByteCount(metadata.ToString(Formatting.None));
        return size <= _options.MaxMetadataBytes;
    }

    private static JObject Merge(JObject current, JObject changes)
    {
        // A new object, never an in-place edit: queries may be reading the old one (PROTOCOL.md §5.15: merge is
        // shallow, and a null value removes the key).
        var merged = (JObject)current.DeepClone();
        foreach (var (key, value) in changes)
        {
            if (value is null || value.Type == JTokenType.Null)
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value.DeepClone();
            }
        }

        return merged;
    }
}
