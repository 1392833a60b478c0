using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>Which cells discovery and watches are about (every condition given must hold).</summary>
public sealed record CellFilter
{
    /// <summary>Every cell.</summary>
    public static CellFilter All { get; } = new();

    /// <summary>Only cells of this service (default: null, any service).</summary>
    public string? Service { get; init; }

    /// <summary>Only cells carrying all of these tags (default: null, any tags).</summary>
    public IReadOnlyCollection<string>? Tags { get; init; }

    /// <summary>Only cells whose metadata matches this query (PROTOCOL.md §11; default: null, any metadata).</summary>
    public JObject? Query { get; init; }

    /// <summary>The filter as <c>LIST</c> and <c>WTCH</c> carry it (empty tags are left out; the query is a copy).</summary>
    internal DiscoveryFilter ToDiscoveryFilter() => new()
    {
        Service = Service,
        Tags = Tags is { Count: > 0 } ? [.. Tags] : [],
        Query = (JObject?)Query?.DeepClone(),
    };
}

/// <summary>A cell as discovery sees it.</summary>
/// <param name="Id">Its THID.</param>
/// <param name="Service">Its service.</param>
/// <param name="Tags">Its tags.</param>
/// <param name="Metadata">Its metadata (a copy).</param>
/// <param name="Transmitter">The THID of the transmitter it is connected to.</param>
public sealed record CellInfo(Thynapse.Core.Thid Id, string Service, IReadOnlyList<string> Tags, JObject Metadata, Thynapse.Core.Thid Transmitter)
{
    /// <summary>A cell as an <c>OKAY</c> (of <c>LIST</c>, <c>WTCH</c>) or a <c>CELL</c> notice describes it.</summary>
    internal static CellInfo From(CellDescription cell) => new(cell.Id, cell.Service, cell.Tags, cell.Metadata, cell.Transmitter);
}

/// <summary>What happened to a watched cell.</summary>
public enum MembershipChangeKind
{
    /// <summary>It matches the filter now (it joined, or its metadata changed to match); also every match when a watch starts.</summary>
    Joined,

    /// <summary>It still matches, and its metadata or tags changed.</summary>
    Updated,

    /// <summary>It no longer matches (it left, died, or its metadata changed not to match).</summary>
    Left,
}

/// <summary>One change seen by <see cref="Cell.Watch"/>.</summary>
/// <param name="Kind">Joined, updated or left.</param>
/// <param name="Cell">The cell, as it is now (for <see cref="MembershipChangeKind.Left"/>, as it was last seen).</param>
public sealed record MembershipChange(MembershipChangeKind Kind, CellInfo Cell);
