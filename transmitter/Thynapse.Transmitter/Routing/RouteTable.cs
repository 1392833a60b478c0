using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Every subscription of every cell — this transmitter's own and, from the mesh's replica, other transmitters' cells
/// (PROTOCOL.md §12.8) — in a token trie, and the resulting <see cref="RoutePlan"/> per channel in a
/// cache: a steady stream of events pays one hash lookup on the channel's bytes, however many subscriptions exist.
/// Any subscription change empties the cache (plans are rebuilt on demand).
/// </summary>
/// <remarks>
/// <see cref="InterestChanged"/> is the interest feed: it fires when a pattern gains its first subscription or loses its
/// last one, whatever the mode and cell. The mesh forwards these to the other transmitters, so that each knows which
/// patterns anybody here catches (as NATS routes exchange subject interest) without seeing every subscription.
/// </remarks>
internal sealed class RouteTable
{
    /// <summary>Channels whose plans are kept; past this the cache starts over, bounding its memory.</summary>
    public const int MaxCachedChannels = 65_536;

    private readonly PatternTrie<Subscription> _trie = new();
    private readonly Dictionary<byte[], RoutePlan> _plans = new(ByteArrayComparer.Instance);
    private readonly List<Subscription> _matches = [];
    private readonly Dictionary<string, int> _interest = new(StringComparer.Ordinal);

    /// <summary>A pattern gained its first subscription (true) or lost its last one (false). Routing thread only.</summary>
    public event Action<ChannelPattern, bool>? InterestChanged;

    /// <summary>Distinct patterns with at least one subscription.</summary>
    public int Patterns => _interest.Count;

    public int Subscriptions => _trie.Count;

    public int CachedChannels => _plans.Count;

    public void Add(Subscription subscription)
    {
        _trie.Add(subscription.Pattern, subscription);
        _plans.Clear();
        ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_interest, subscription.Pattern.Text, out _);
        if (count++ == 0)
        {
            InterestChanged?.Invoke(subscription.Pattern, true);
        }
    }

    public void Remove(Subscription subscription)
    {
        if (!_trie.Remove(subscription.Pattern, subscription))
        {
            return;
        }

        _plans.Clear();
        if (_interest.TryGetValue(subscription.Pattern.Text, out var count) && count > 1)
        {
            _interest[subscription.Pattern.Text] = count - 1;
        }
        else if (_interest.Remove(subscription.Pattern.Text))
        {
            InterestChanged?.Invoke(subscription.Pattern, false);
        }
    }

    /// <summary>The plan for <paramref name="channel"/> (ASCII bytes); null with an explanation when the channel is invalid.</summary>
    public RoutePlan? Find(ReadOnlySpan<byte> channel, out string? error)
    {
        error = null;
        if (_plans.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var plan))
        {
            return plan;
        }

        // Only valid channels are cached, so a cache hit is also a validation.
        if (!Channel.TryValidate(channel, out error))
        {
            return null;
        }

        var key = channel.ToArray();
        plan = Build(key);
        if (_plans.Count >= MaxCachedChannels)
        {
            _plans.Clear();
        }

        _plans.Add(key, plan);
        return plan;
    }

    private RoutePlan Build(byte[] channel)
    {
        Span<char> chars = stackalloc char[channel.Length];
        for (var i = 0; i < channel.Length; i++)
        {
            chars[i] = (char)channel[i];
        }

        _matches.Clear();
        _trie.Match(chars, _matches);
        if (_matches.Count == 0)
        {
            return RoutePlan.Empty;
        }

        var multicatch = new List<Sessions.LocalCell>();
        var remote = new List<Receiver>();
        var anycatch = new Dictionary<string, List<Subscription>>(StringComparer.Ordinal);
        var seenMulti = new HashSet<Receiver>(ReferenceEqualityComparer.Instance);
        var seenAny = new HashSet<Receiver>(ReferenceEqualityComparer.Instance);
        foreach (var match in _matches)
        {
            if (match.Mode == Catch.Multi)
            {
                if (seenMulti.Add(match.Receiver))
                {
                    if (match.Receiver is Sessions.LocalCell local)
                    {
                        multicatch.Add(local);
                    }
                    else
                    {
                        remote.Add(match.Receiver);
                    }
                }
            }
            else if (seenAny.Add(match.Receiver))
            {
                if (!anycatch.TryGetValue(match.Receiver.Service, out var group))
                {
                    anycatch.Add(match.Receiver.Service, group = []);
                }

                group.Add(match);
            }
        }

        _matches.Clear();
        return new RoutePlan(
            channel,
            [.. multicatch],
            [.. remote],
            [.. anycatch.Select(g => new AnycatchGroup(g.Key, [.. g.Value]))]);
    }
}
