using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>How <c>META</c> changes a cell's metadata (PROTOCOL.md §5.15).</summary>
public enum MetadataMode
{
    /// <summary><c>merge</c> (the default): set the given keys, remove those given as <c>null</c> (top level only).</summary>
    Merge = 0,

    /// <summary><c>replace</c>: the given object becomes the metadata.</summary>
    Replace = 1,
}

/// <summary><c>META</c>, cell → transmitter (PROTOCOL.md §5.15): change the cell's metadata, its tags, or both.</summary>
public sealed record MetadataMessage : JsonRequest
{
    /// <summary><c>metadata</c>: the change; null when absent (the metadata stays as it is).</summary>
    public JObject? Metadata { get; init; }

    /// <summary><c>mode</c>; null when absent, which means <see cref="MetadataMode.Merge"/>.</summary>
    public MetadataMode? Mode { get; init; }

    /// <summary><c>tags</c>: the cell's new tags (read: duplicates dropped); null when absent (they stay as they are).</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <inheritdoc />
    public override Command Command => Command.Meta;

    /// <summary>
    /// Reads a <c>META</c> payload as the transmitter does (<c>INVALID_FIELD</c>): field types, the mode, the tags.
    /// <c>METADATA_TOO_LARGE</c> depends on the metadata it changes: see <see cref="TryApply"/>.
    /// </summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out MetadataMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => Read(ref fields), out message, out code, out error);

    private static MetadataMessage Read(ref JsonFields fields)
    {
        var metadata = fields.GetObject("metadata");
        var modeText = fields.GetString("mode");
        var tagsField = fields.GetArray("tags");
        if (fields.Error is null && modeText is not (null or "merge" or "replace"))
        {
            fields.Invalid("field 'mode' must be \"merge\" or \"replace\"");
        }

        var tags = fields.Error is null && tagsField is not null ? MessageFields.ReadTags(tagsField, ref fields) : null;
        return new MetadataMessage
        {
            Metadata = metadata,
            Mode = modeText switch { "merge" => MetadataMode.Merge, "replace" => MetadataMode.Replace, _ => null },
            Tags = tags,
            Ref = fields.Ref,
        };
    }

    /// <summary>
    /// The metadata after this change to <paramref name="current"/>: a new object, never an edit in place, since queries
    /// may be reading the old one; <paramref name="current"/> itself when <see cref="Metadata"/> is null.
    /// </summary>
    public JObject Apply(JObject current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (Metadata is null)
        {
            return current;
        }

        if (Mode == MetadataMode.Replace)
        {
            return (JObject)Metadata.DeepClone();
        }

        var merged = (JObject)current.DeepClone();
        foreach (var (key, value) in Metadata)
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

    /// <summary>
    /// <see cref="Apply"/>, refused with <c>METADATA_TOO_LARGE</c> when the result would not fit
    /// <see cref="MessageLimits.MaxMetadataBytes"/> (the transmitter's check and wording, §5.15).
    /// </summary>
    public bool TryApply(
        JObject current,
        MessageLimits limits,
        [NotNullWhen(true)] out JObject? updated,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var result = Apply(current);
        if (!limits.FitsMetadata(result, out var size))
        {
            updated = null;
            code = ThynapseErrorCode.MetadataTooLarge;
            error = $"the metadata would take {size} bytes; the limit is {limits.MaxMetadataBytes}";
            return false;
        }

        updated = result;
        code = ThynapseErrorCode.None;
        error = null;
        return true;
    }

    /// <inheritdoc />
    /// <remarks>The SDK's order: metadata, mode, tags, ref.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.WriteIfPresent(writer, "metadata", Metadata);
        MessageFields.WriteIfPresent(writer, "mode", Mode is { } mode ? (mode == MetadataMode.Replace ? "replace" : "merge") : null);
        if (Tags is not null)
        {
            MessageFields.WriteStrings(writer, "tags", Tags);
        }

        MessageFields.WriteRef(writer, Ref);
    }
}
