using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Discovery;

/// <summary>Which cells a discovery request or a watch is about: a service, tags (all of them), a metadata query.</summary>
internal sealed record CellFilter(string? Service, string[] Tags, MetadataQuery? Query)
{
    public bool Matches(Receiver cell)
    {
        if (Service is not null && !string.Equals(cell.Service, Service, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var tag in Tags)
        {
            if (Array.IndexOf(cell.Profile.Tags, tag) < 0)
            {
                return false;
            }
        }

        return Query is null || Query.Matches(cell.Metadata);
    }

    /// <summary>A cell as discovery describes it (PROTOCOL.md §5.16).</summary>
    public static JObject Describe(Receiver cell, Thid transmitter) => new()
    {
        ["id"] = cell.Id.ToString(),
        ["service"] = cell.Service,
        ["tags"] = new JArray(cell.Profile.Tags),
        ["metadata"] = cell.Metadata.DeepClone(),
        ["transmitter"] = transmitter.ToString(),
    };
}

/// <summary>A cell's standing request to hear about the cells matching a filter.</summary>
internal sealed class Watch(LocalCell watcher, uint id, CellFilter filter)
{
    public LocalCell Watcher { get; } = watcher;

    public uint Id { get; } = id;

    public CellFilter Filter { get; } = filter;

    /// <summary>The cells that matched at the last notice, so a change can be told as joined, updated or left.</summary>
    public HashSet<Receiver> Matching { get; } = new(ReferenceEqualityComparer.Instance);
}
