using Thynapse.Core;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Picks the one anycatch receiver among a service's eligible subscriptions (PROTOCOL.md §4.2, §4.6): by key
/// (rendezvous hashing), by a query's selector (min/max of a metadata field), or the least busy.
/// </summary>
internal static class Chooser
{
    private static long _choices;

    /// <summary>
    /// Among those with room: the lowest <see cref="Subscription.Load"/> (deliveries held unacknowledged), ties to the cell chosen least recently.
    /// <paramref name="avoid"/> (the cell that failed the previous attempt) only when it is the only candidate.
    /// </summary>
    public static Subscription? LeastBusy(IReadOnlyList<Subscription> candidates, Receiver? avoid)
    {
        if (candidates.Count == 1)
        {
            var only = candidates[0];
            return only.HasRoom && only.Active ? Stamp(only) : null;
        }

        Subscription? best = null;
        var bestLoad = 0;
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (!candidate.HasRoom || !candidate.Active || ReferenceEquals(candidate.Receiver, avoid))
            {
                continue;
            }

            var load = candidate.Load;
            if (best is null
                || load < bestLoad
                || (load == bestLoad && candidate.Receiver.LastChosen < best.Receiver.LastChosen))
            {
                best = candidate;
                bestLoad = load;
            }
        }

        return best is null ? null : Stamp(best);
    }

    /// <summary>
    /// Rendezvous hashing: the live candidate with the highest score for the key, so a key stays with its cell while
    /// that cell lives and only the keys of a departed cell move. Room is not considered: a keyed event waits for its
    /// cell rather than going elsewhere (the caller queues it).
    /// </summary>
    public static Subscription? ByKey(IReadOnlyList<Subscription> candidates, ulong keyHash, Receiver? avoid)
    {
        Subscription? best = null;
        var bestScore = 0UL;
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (!candidate.Active || (ReferenceEquals(candidate.Receiver, avoid) && candidates.Count > 1))
            {
                continue;
            }

            var score = Mix(keyHash ^ candidate.Receiver.IdHash);
            if (best is null || score > bestScore)
            {
                best = candidate;
                bestScore = score;
            }
        }

        return best is null ? null : Stamp(best);
    }

    /// <summary>The candidate with room whose metadata field is lowest or highest (ties: the first).</summary>
    public static Subscription? BySelector(IReadOnlyList<Subscription> candidates, QuerySelector selector, Receiver? avoid)
    {
        Subscription? best = null;
        var bestKey = 0.0;
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (!candidate.HasRoom || !candidate.Active || (ReferenceEquals(candidate.Receiver, avoid) && candidates.Count > 1)
                || !selector.TryGetKey(candidate.Receiver.Metadata, out var key))
            {
                continue;
            }

            if (best is null || (selector.Kind == SelectorKind.Min ? key < bestKey : key > bestKey))
            {
                best = candidate;
                bestKey = key;
            }
        }

        return best is null ? null : Stamp(best);
    }

    /// <summary>By key (sticky), by the query's selector, or the least busy (PROTOCOL.md §4.6).</summary>
    public static Subscription? For(IReadOnlyList<Subscription> eligible, in EventTarget target, Receiver? avoid) =>
        target.HasKey ? ByKey(eligible, target.KeyHash, avoid)
        : target.Query?.Selector is { } selector ? BySelector(eligible, selector, avoid)
        : LeastBusy(eligible, avoid);

    /// <summary>A 64-bit FNV-1a hash of a key's bytes.</summary>
    public static ulong HashKey(ReadOnlySpan<byte> key)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in key)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    // splitmix64's finalizer: every input bit affects every output bit, which rendezvous scores need.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static Subscription Stamp(Subscription chosen)
    {
        // Shared by the transmitters of a process (tests run several); only the order of the stamps matters.
        chosen.Receiver.LastChosen = Interlocked.Increment(ref _choices);
        return chosen;
    }
}
