using Thynapse.Core;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Discovery;

/// <summary>Which cells a discovery request or a watch is about (PROTOCOL.md §5.16), applied to the cells here.</summary>
internal static class CellFilter
{
    /// <summary>True when <paramref name="cell"/> meets every condition of <paramref name="filter"/>: its service, all its tags, its query.</summary>
    public static bool Matches(DiscoveryFilter filter, Receiver cell)
    {
        if (filter.Service is not null && !string.Equals(cell.Service, filter.Service, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var tag in filter.Tags)
        {
            if (Array.IndexOf(cell.Profile.Tags, tag) < 0)
            {
                return false;
            }
        }

        return filter.CompiledQuery is null || filter.CompiledQuery.Matches(cell.Metadata);
    }
}

/// <summary>A cell's standing request to hear about the cells matching a filter.</summary>
internal sealed class Watch(LocalCell watcher, uint id, DiscoveryFilter filter)
{
    public LocalCell Watcher { get; } = watcher;

    public uint Id { get; } = id;

    public DiscoveryFilter Filter { get; } = filter;

    /// <summary>The cells that matched at the last notice, so a change can be told as joined, updated or left.</summary>
    public HashSet<Receiver> Matching { get; } = new(ReferenceEqualityComparer.Instance);
}
