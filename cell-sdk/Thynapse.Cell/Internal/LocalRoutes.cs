using System.Text;
using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The cell's own view of its subscriptions, used on the socket thread: by id for anycatch deliveries (which
/// name their subscription), and by channel for multicatch deliveries (which go to every local multicatch
/// subscription that matches). Channel names are interned here so a steady stream allocates no strings.
/// </summary>
internal sealed class LocalRoutes
{
    private const int MaxCachedChannels = 16_384;

    private readonly Dictionary<uint, CellSubscription> _byId = [];
    private readonly PatternTrie<CellSubscription> _multicatch = new();
    private readonly Dictionary<byte[], ChannelRoute> _channels = new(ByteArrayComparer.Instance);
    private readonly List<CellSubscription> _matches = [];

    public IEnumerable<CellSubscription> All => _byId.Values;

    public int Count => _byId.Count;

    public void Add(CellSubscription subscription)
    {
        _byId.Add(subscription.Id, subscription);
        if (subscription.Mode == Catch.Multi)
        {
            _multicatch.Add(subscription.ChannelPattern, subscription);
            _channels.Clear();
        }
    }

    public bool Remove(CellSubscription subscription)
    {
        if (!_byId.Remove(subscription.Id))
        {
            return false;
        }

        if (subscription.Mode == Catch.Multi)
        {
            _multicatch.Remove(subscription.ChannelPattern, subscription);
            _channels.Clear();
        }

        return true;
    }

    public bool TryGet(uint id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CellSubscription? subscription) =>
        _byId.TryGetValue(id, out subscription);

    /// <summary>The interned name of a channel and the multicatch subscriptions matching it.</summary>
    public ChannelRoute Resolve(ReadOnlySpan<byte> channel)
    {
        if (_channels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var route))
        {
            return route;
        }

        var name = Encoding.ASCII.GetString(channel);
        _matches.Clear();
        _multicatch.Match(name, _matches);
        route = new ChannelRoute(name, [.. _matches.Distinct()]);
        _matches.Clear();
        if (_channels.Count >= MaxCachedChannels)
        {
            _channels.Clear();
        }

        _channels.Add(channel.ToArray(), route);
        return route;
    }
}

/// <summary>A channel's interned name and its local multicatch subscriptions.</summary>
internal sealed record ChannelRoute(string Name, CellSubscription[] Multicatch);
