using System.Diagnostics.CodeAnalysis;

namespace Thynapse.Core;

/// <summary>
/// A validated channel pattern: dot-separated tokens where <c>*</c> matches exactly one token and a trailing
/// <c>&gt;</c> matches one or more tokens (PROTOCOL.md §3). A pattern without wildcards matches only itself. The token
/// <c>#</c> is refused, with a message pointing to <c>&gt;</c> and <c>*</c> (AMQP users type <c>orders.#</c>).
/// </summary>
public sealed class ChannelPattern : IEquatable<ChannelPattern>
{
    private readonly string[] _tokens;

    private ChannelPattern(string text)
    {
        Text = text;
        _tokens = text.Split(Channel.Separator);
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>The pattern's tokens, wildcards included.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>True when the pattern contains <c>*</c> or <c>&gt;</c>.</summary>
    public bool HasWildcards => Array.Exists(_tokens, t => t is "*" or ">");

    /// <summary>Parses a pattern.</summary>
    /// <exception cref="ArgumentException">
    /// The text is not a valid pattern; the message, <c>Invalid pattern '…': …</c>, gives the same reason as the
    /// transmitter's <c>INVALID_PATTERN</c>.
    /// </exception>
    public static ChannelPattern Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var pattern, out var error)
            ? pattern
            : throw new ArgumentException($"Invalid pattern '{text}': {error}.", nameof(text));
    }

    /// <summary>Parses a pattern, explaining the first problem found.</summary>
    public static bool TryParse(
        string? text,
        [NotNullWhen(true)] out ChannelPattern? pattern,
        [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (text is null)
        {
            error = "the pattern is missing";
            return false;
        }

        if (!Channel.TryValidateTokens(text, allowWildcards: true, out error))
        {
            return false;
        }

        pattern = new ChannelPattern(text);
        return true;
    }

    /// <summary>True when <paramref name="channel"/> (assumed valid) matches this pattern.</summary>
    public bool Matches(ReadOnlySpan<char> channel)
    {
        var rest = channel;
        for (var i = 0; i < _tokens.Length; i++)
        {
            var pattern = _tokens[i];
            if (pattern is ">")
            {
                return !rest.IsEmpty;
            }

            if (rest.IsEmpty)
            {
                return false;
            }

            var dot = rest.IndexOf(Channel.Separator);
            var token = dot < 0 ? rest : rest[..dot];
            if (pattern is not "*" && !token.SequenceEqual(pattern))
            {
                return false;
            }

            rest = dot < 0 ? ReadOnlySpan<char>.Empty : rest[(dot + 1)..];
            if (dot >= 0 && rest.IsEmpty)
            {
                return false;
            }
        }

        return rest.IsEmpty;
    }

    /// <summary>True when <paramref name="channel"/>, given as ASCII bytes (assumed valid), matches this pattern.</summary>
    public bool Matches(ReadOnlySpan<byte> channel)
    {
        if (channel.Length > Channel.MaxLength)
        {
            return false;
        }

        Span<char> chars = stackalloc char[channel.Length];
        for (var i = 0; i < channel.Length; i++)
        {
            chars[i] = (char)channel[i];
        }

        return Matches(chars);
    }

    /// <inheritdoc />
    public bool Equals(ChannelPattern? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ChannelPattern);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <inheritdoc />
    public override string ToString() => Text;
}
