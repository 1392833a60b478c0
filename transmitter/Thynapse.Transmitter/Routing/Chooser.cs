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
    /// <remarks>
    /// The candidates come as a span (a plan's array, or a scratch list's items) and the best's load and stamp are kept
    /// in locals: a targeted event chooses among hundreds of cells, and an interface call or a second read of the best
    /// per candidate was a tenth of its routing (the routing micro-benchmark's targeted case).
    /// </remarks>
    public static Subscription? LeastBusy(ReadOnlySpan<Subscription> candidates, Receiver? avoid)
    {
        if (candidates.Length == 1)
        {
            var only = candidates[0];
            return only.HasRoom && only.Active ? Stamp(only) : null;
        }

        Subscription? best = null;
        var bestLoad = 0;
        var bestChosen = 0L;
        foreach (var candidate in candidates)
        {
            if (!candidate.HasRoom || !candidate.Active)
            {
                continue;
            }

            var receiver = candidate.Receiver;
            if (ReferenceEquals(receiver, avoid))
            {
                continue;
            }

            var load = candidate.Load;
            if (best is null || load < bestLoad || (load == bestLoad && receiver.LastChosen < bestChosen))
            {
                best = candidate;
                bestLoad = load;
                bestChosen = receiver.LastChosen;
            }
        }

        return best is null ? null : Stamp(best);
    }

    /// <summary>
    /// Rendezvous hashing: the live candidate with the highest score for the key, so a key stays with its cell while
    /// that cell lives and only the keys of a departed cell move. Room is not considered: a keyed event waits for its
    /// cell rather than going elsewhere (the caller queues it).
    /// </summary>
    public static Subscription? ByKey(ReadOnlySpan<Subscription> candidates, ulong keyHash, Receiver? avoid)
    {
        Subscription? best = null;
        var bestScore = 0UL;
        foreach (var candidate in candidates)
        {
            if (!candidate.Active || (ReferenceEquals(candidate.Receiver, avoid) && candidates.Length > 1))
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
    public static Subscription? BySelector(ReadOnlySpan<Subscription> candidates, QuerySelector selector, Receiver? avoid)
    {
        Subscription? best = null;
        var bestKey = 0.0;
        foreach (var candidate in candidates)
        {
            if (!candidate.HasRoom || !candidate.Active || (ReferenceEquals(candidate.Receiver, avoid) && candidates.Length > 1)
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
    public static Subscription? For(ReadOnlySpan<Subscription> eligible, in EventTarget target, Receiver? avoid) =>
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
