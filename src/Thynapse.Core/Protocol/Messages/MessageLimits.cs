using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// The bounds a message is checked against when it is read (PROTOCOL.md §5, §8.1, §11.6): those a transmitter may be
/// configured with, as properties, and those the protocol fixes, as constants.
/// </summary>
public sealed record MessageLimits
{
    /// <summary>Tags a cell may carry (<c>HELO.tags</c>, <c>META.tags</c>, and a discovery filter's, §5.1).</summary>
    public const int MaxTags = 64;

    /// <summary>Characters in one tag (§5.1: 1 to 64).</summary>
    public const int MaxTagLength = 64;

    /// <summary>Bytes of UTF-8 in an event's key (§5.3, §6.1).</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>Characters in a <c>NACK.reason</c> (§5.13).</summary>
    public const int MaxNackReasonLength = 1024;

    /// <summary>The smallest <c>SUBS.prefetch</c> (§5.6).</summary>
    public const int MinPrefetch = 1;

    /// <summary>The largest <c>SUBS.prefetch</c> (§5.6).</summary>
    public const int MaxPrefetch = 65_535;

    /// <summary>The shortest <c>SUBS.ackTimeout</c>, in milliseconds (§5.6).</summary>
    public const int MinAckTimeoutMs = 10;

    /// <summary>The longest <c>SUBS.ackTimeout</c>, in milliseconds: one hour (§5.6).</summary>
    public const int MaxAckTimeoutMs = 3_600_000;

    /// <summary>The smallest <c>SUBS.maxAttempts</c> (§5.6).</summary>
    public const int MinMaxAttempts = 1;

    /// <summary>The largest <c>SUBS.maxAttempts</c> (§5.6).</summary>
    public const int MaxMaxAttempts = 1000;

    /// <summary>The defaults listed on each property.</summary>
    public static MessageLimits Default { get; } = new();

    /// <summary>Subscriptions a cell may hold; also bounds <c>HELO.subs</c> (default: 10,000).</summary>
    public int MaxSubscriptionsPerCell { get; init; } = ProtocolDefaults.MaxSubscriptionsPerCell;

    /// <summary>Bytes of a cell's metadata as compact JSON (default: 16,384).</summary>
    public int MaxMetadataBytes { get; init; } = ProtocolDefaults.MaxMetadataBytes;

    /// <summary>Bounds of metadata queries: <c>EVNT.target</c>, <c>LIST.query</c>, <c>WTCH.query</c> (default: <see cref="QueryLimits.Default"/>).</summary>
    public QueryLimits QueryLimits { get; init; } = QueryLimits.Default;

    /// <summary>True when <paramref name="metadata"/> as compact JSON fits <see cref="MaxMetadataBytes"/>; <paramref name="size"/> is its size.</summary>
    public bool FitsMetadata(JObject metadata, out int size)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        size = Encoding.UTF8.GetByteCount(metadata.ToString(Formatting.None));
        return size <= MaxMetadataBytes;
    }
}
