using System.Diagnostics.CodeAnalysis;

namespace Thynapse.Core;

/// <summary>
/// Rules for channel names (PROTOCOL.md §3): dot-separated tokens of printable ASCII, at most 255 bytes.
/// </summary>
/// <remarks>
/// A token is one or more characters from <c>!</c> to <c>~</c> except <c>.</c>, <c>*</c> and <c>&gt;</c>, and is not
/// <c>#</c> alone (reserved: AMQP's wildcard, refused rather than taken literally).
/// Channels whose first token starts with <c>$</c> are reserved for the transmitters (dead letters, system
/// notices): cells may catch them but not publish on them.
/// </remarks>
public static class Channel
{
    /// <summary>The longest channel or pattern, in bytes (they are ASCII, so also in characters).</summary>
    public const int MaxLength = 255;

    /// <summary>The separator between tokens.</summary>
    public const char Separator = '.';

    /// <summary>True when <paramref name="channel"/> is a valid channel name (reserved or not).</summary>
    public static bool IsValid(ReadOnlySpan<char> channel) => TryValidate(channel, out _);

    /// <summary>Checks a channel name, explaining the first problem found.</summary>
    public static bool TryValidate(ReadOnlySpan<char> channel, [NotNullWhen(false)] out string? error) =>
        TryValidateTokens(channel, allowWildcards: false, out error);

    /// <summary>Checks a channel name given as ASCII bytes, as it travels on the wire.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> channel, [NotNullWhen(false)] out string? error)
    {
        if (channel.Length is 0 or > MaxLength)
        {
            error = channel.IsEmpty ? "the channel is empty" : $"the channel is longer than {MaxLength} characters";
            return false;
        }

        Span<char> chars = stackalloc char[channel.Length];
        for (var i = 0; i < channel.Length; i++)
        {
            chars[i] = (char)channel[i];
        }

        return TryValidate(chars, out error);
    }

    /// <summary>True when the channel belongs to the transmitters (its first token starts with <c>$</c>).</summary>
    public static bool IsReserved(ReadOnlySpan<char> channel) => channel.Length > 0 && channel[0] == '$';

    /// <summary>True when the channel, given as ASCII bytes, belongs to the transmitters.</summary>
    public static bool IsReserved(ReadOnlySpan<byte> channel) => channel.Length > 0 && channel[0] == (byte)'$';

    /// <summary>Validates channels (no wildcards) and patterns (whole-token <c>*</c>, trailing <c>&gt;</c>); neither may have the token <c>#</c>.</summary>
    internal static bool TryValidateTokens(ReadOnlySpan<char> text, bool allowWildcards, [NotNullWhen(false)] out string? error)
    {
        var what = allowWildcards ? "pattern" : "channel";
        if (text.IsEmpty)
        {
            error = $"the {what} is empty";
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = $"the {what} is longer than {MaxLength} characters";
            return false;
        }

        var tokenStart = 0;
        var tokenIndex = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != Separator)
            {
                continue;
            }

            var token = text[tokenStart..i];
            var isLast = i == text.Length;
            if (token.IsEmpty)
            {
                error = $"token {tokenIndex + 1} of the {what} is empty";
                return false;
            }

            if (token is "#")
            {
                // AMQP's (and MQTT's) multi-level wildcard. Taken literally it would subscribe to a channel nobody
                // means to publish on, so it is refused on both sides, with the wildcards that do what it would.
                error = allowWildcards
                    ? $"'#' is not a wildcard here (token {tokenIndex + 1}): use '>' for one or more trailing tokens, '*' for exactly one"
                    : $"'#' cannot be a whole token of a channel (token {tokenIndex + 1}): it is reserved, as the wildcard it looks like";
                return false;
            }

            if (allowWildcards && token is "*")
            {
                // A whole-token '*' matches exactly one token anywhere.
            }
            else if (allowWildcards && token is ">")
            {
                if (!isLast)
                {
                    error = $"'>' may only be the last token of a pattern (token {tokenIndex + 1})";
                    return false;
                }
            }
            else
            {
                foreach (var c in token)
                {
                    if (c is < '!' or > '~')
                    {
                        error = $"token {tokenIndex + 1} of the {what} contains a character outside printable ASCII (U+{(int)c:X4})";
                        return false;
                    }

                    if (c is '*' or '>')
                    {
                        error = allowWildcards
                            ? $"'{c}' must be a whole token (token {tokenIndex + 1} is '{token}')"
                            : $"a channel cannot contain the wildcard '{c}' (token {tokenIndex + 1})";
                        return false;
                    }
                }
            }

            tokenStart = i + 1;
            tokenIndex++;
        }

        error = null;
        return true;
    }
}
