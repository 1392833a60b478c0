namespace Thynapse.Core;

/// <summary>
/// An index of channel patterns by token: finding every value whose pattern matches a channel costs time in
/// the number of the channel's tokens and of the matches, not in the number of patterns.
/// </summary>
/// <typeparam name="T">What is stored under a pattern (a subscription, for example).</typeparam>
/// <remarks>Not thread-safe: one owner thread, as everything that touches it in the transmitter.</remarks>
public sealed class PatternTrie<T>
    where T : notnull
{
    private readonly Node _root = new();

    /// <summary>How many (pattern, value) pairs are stored.</summary>
    public int Count { get; private set; }

    /// <summary>Adds <paramref name="value"/> under <paramref name="pattern"/>.</summary>
    public void Add(ChannelPattern pattern, T value)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var node = _root;
        var tokens = pattern.Tokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token is ">")
            {
                (node.Tail ??= []).Add(value);
                Count++;
                return;
            }

            node = token is "*"
                ? node.Star ??= new Node()
                : node.GetOrAddChild(token);
        }

        (node.Terminal ??= []).Add(value);
        Count++;
    }

    /// <summary>Removes one <paramref name="value"/> stored under <paramref name="pattern"/>; false when absent.</summary>
    public bool Remove(ChannelPattern pattern, T value)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var removed = Remove(_root, pattern.Tokens, 0, value);
        if (removed)
        {
            Count--;
        }

        return removed;
    }

    /// <summary>Appends to <paramref name="results"/> every value whose pattern matches <paramref name="channel"/>.</summary>
    /// <remarks>A value stored under two matching patterns is appended twice.</remarks>
    public void Match(ReadOnlySpan<char> channel, List<T> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (!channel.IsEmpty)
        {
            Match(_root, channel, results);
        }
    }

    private static void Match(Node node, ReadOnlySpan<char> rest, List<T> results)
    {
        if (node.Tail is { } tail)
        {
            results.AddRange(tail);
        }

        var dot = rest.IndexOf(Channel.Separator);
        var token = dot < 0 ? rest : rest[..dot];
        var remaining = dot < 0 ? ReadOnlySpan<char>.Empty : rest[(dot + 1)..];

        if (node.TryGetChild(token, out var child))
        {
            Step(child, dot < 0, remaining, results);
        }

        if (node.Star is { } star)
        {
            Step(star, dot < 0, remaining, results);
        }
    }

    private static void Step(Node child, bool wasLastToken, ReadOnlySpan<char> remaining, List<T> results)
    {
        if (wasLastToken)
        {
            if (child.Terminal is { } terminal)
            {
                results.AddRange(terminal);
            }
        }
        else if (!remaining.IsEmpty)
        {
            Match(child, remaining, results);
        }
    }

    private static bool Remove(Node node, IReadOnlyList<string> tokens, int index, T value)
    {
        if (index == tokens.Count)
        {
            return node.Terminal is { } terminal && terminal.Remove(value) && Prune(ref node.Terminal);
        }

        var token = tokens[index];
        if (token is ">")
        {
            return node.Tail is { } tail && tail.Remove(value) && Prune(ref node.Tail);
        }

        Node? child;
        if (token is "*")
        {
            child = node.Star;
        }
        else if (!node.TryGetChild(token, out child))
        {
            child = null;
        }

        if (child is null || !Remove(child, tokens, index + 1, value))
        {
            return false;
        }

        if (child.IsEmpty)
        {
            if (token is "*")
            {
                node.Star = null;
            }
            else
            {
                node.RemoveChild(token);
            }
        }

        return true;
    }

    // Drops an emptied list so that empty nodes can be pruned; always true (it is chained after a removal).
    private static bool Prune(ref List<T>? list)
    {
        if (list is { Count: 0 })
        {
            list = null;
        }

        return true;
    }

    private sealed class Node
    {
        private Dictionary<string, Node>? _children;

        public Node? Star;
        public List<T>? Terminal;
        public List<T>? Tail;

        public bool IsEmpty => _children is null or { Count: 0 } && Star is null && Terminal is null && Tail is null;

        public Node GetOrAddChild(string token)
        {
            _children ??= new Dictionary<string, Node>(StringComparer.Ordinal);
            if (!_children.TryGetValue(token, out var child))
            {
                child = new Node();
                _children.Add(token, child);
            }

            return child;
        }

        public bool TryGetChild(ReadOnlySpan<char> token, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Node? child)
        {
            child = null;
            return _children is not null && _children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(token, out child);
        }

        public void RemoveChild(string token) => _children?.Remove(token);
    }
}
