namespace Thynapse.Core;

/// <summary>
/// A SemVer 2.0.0 version read from a string without copying it: the struct keeps the string and the offsets of
/// its parts, so parsing a metadata value on every evaluation allocates nothing (PROTOCOL.md §11.4).
/// </summary>
/// <remarks>
/// Accepted: <c>MAJOR.MINOR.PATCH</c>, optionally prefixed by one lowercase <c>v</c>, optionally followed by
/// <c>-prerelease</c> and <c>+build</c> exactly as SemVer 2.0.0 defines them. Numeric parts are compared as digit
/// strings (SemVer forbids leading zeros, so the longer one is larger), which gives them unlimited size and
/// spares a numeric conversion. <c>1.2</c>, <c>01.2.3</c> and <c>1.2.3.4</c> are not versions.
/// </remarks>
internal readonly struct SemanticVersion
{
    private readonly string _text;
    private readonly int _majorStart;
    private readonly int _minorStart;
    private readonly int _patchStart;
    private readonly int _patchEnd;

    // The prerelease is [_patchEnd + 1, _prereleaseEnd) when _prereleaseEnd > _patchEnd; empty otherwise.
    private readonly int _prereleaseEnd;

    private SemanticVersion(string text, int majorStart, int minorStart, int patchStart, int patchEnd, int prereleaseEnd)
    {
        _text = text;
        _majorStart = majorStart;
        _minorStart = minorStart;
        _patchStart = patchStart;
        _patchEnd = patchEnd;
        _prereleaseEnd = prereleaseEnd;
    }

    private ReadOnlySpan<char> Major => _text.AsSpan(_majorStart, _minorStart - 1 - _majorStart);

    private ReadOnlySpan<char> Minor => _text.AsSpan(_minorStart, _patchStart - 1 - _minorStart);

    private ReadOnlySpan<char> Patch => _text.AsSpan(_patchStart, _patchEnd - _patchStart);

    private ReadOnlySpan<char> Prerelease =>
        _prereleaseEnd > _patchEnd ? _text.AsSpan(_patchEnd + 1, _prereleaseEnd - _patchEnd - 1) : default;

    /// <summary>Reads <paramref name="text"/> as a version; false when it is not one.</summary>
    public static bool TryParse(string text, out SemanticVersion version)
    {
        version = default;
        var i = text.StartsWith('v') ? 1 : 0;
        var majorStart = i;
        if (!TryReadNumber(text, ref i) || !TryRead(text, '.', ref i))
        {
            return false;
        }

        var minorStart = i;
        if (!TryReadNumber(text, ref i) || !TryRead(text, '.', ref i))
        {
            return false;
        }

        var patchStart = i;
        if (!TryReadNumber(text, ref i))
        {
            return false;
        }

        var patchEnd = i;
        var prereleaseEnd = patchEnd;
        if (TryRead(text, '-', ref i))
        {
            if (!TryReadIdentifiers(text, ref i, prerelease: true))
            {
                return false;
            }

            prereleaseEnd = i;
        }

        if (TryRead(text, '+', ref i) && !TryReadIdentifiers(text, ref i, prerelease: false))
        {
            return false;
        }

        if (i != text.Length)
        {
            return false;
        }

        version = new SemanticVersion(text, majorStart, minorStart, patchStart, patchEnd, prereleaseEnd);
        return true;
    }

    /// <summary>SemVer precedence: negative, zero or positive as this version is lower, equal or higher.</summary>
    /// <remarks>Build metadata and the <c>v</c> prefix take no part, so <c>v1.0.0+a</c> equals <c>1.0.0+b</c>.</remarks>
    public int CompareTo(in SemanticVersion other)
    {
        var order = CompareNumeric(Major, other.Major);
        if (order == 0)
        {
            order = CompareNumeric(Minor, other.Minor);
        }

        if (order == 0)
        {
            order = CompareNumeric(Patch, other.Patch);
        }

        return order != 0 ? order : ComparePrerelease(Prerelease, other.Prerelease);
    }

    // SemVer 2.0.0 §11.3: a version with a prerelease ranks below the same version without one.
    private static int ComparePrerelease(ReadOnlySpan<char> left, ReadOnlySpan<char> right)
    {
        if (left.IsEmpty || right.IsEmpty)
        {
            return left.IsEmpty == right.IsEmpty ? 0 : left.IsEmpty ? 1 : -1;
        }

        while (true)
        {
            var leftDot = left.IndexOf('.');
            var rightDot = right.IndexOf('.');
            var leftPart = leftDot < 0 ? left : left[..leftDot];
            var rightPart = rightDot < 0 ? right : right[..rightDot];
            var order = CompareIdentifier(leftPart, rightPart);
            if (order != 0)
            {
                return order;
            }

            // SemVer 2.0.0 §11.4.4: when all preceding identifiers are equal, the longer list ranks higher.
            if (leftDot < 0 || rightDot < 0)
            {
                return (leftDot >= 0).CompareTo(rightDot >= 0);
            }

            left = left[(leftDot + 1)..];
            right = right[(rightDot + 1)..];
        }
    }

    // SemVer 2.0.0 §11.4: numeric identifiers compare numerically and rank below alphanumeric ones, which compare in ASCII order.
    private static int CompareIdentifier(ReadOnlySpan<char> left, ReadOnlySpan<char> right)
    {
        var leftNumeric = IsDigits(left);
        var rightNumeric = IsDigits(right);
        if (leftNumeric && rightNumeric)
        {
            return CompareNumeric(left, right);
        }

        if (leftNumeric != rightNumeric)
        {
            return leftNumeric ? -1 : 1;
        }

        return Math.Sign(left.SequenceCompareTo(right));
    }

    // Both sides are digit strings without leading zeros: the longer is larger, equal lengths compare by digit.
    private static int CompareNumeric(ReadOnlySpan<char> left, ReadOnlySpan<char> right) =>
        left.Length != right.Length ? left.Length.CompareTo(right.Length) : Math.Sign(left.SequenceCompareTo(right));

    private static bool IsDigits(ReadOnlySpan<char> span) => !span.ContainsAnyExceptInRange('0', '9');

    private static bool TryRead(string text, char expected, ref int i)
    {
        if (i < text.Length && text[i] == expected)
        {
            i++;
            return true;
        }

        return false;
    }

    // A numeric identifier: "0", or digits not starting with "0".
    private static bool TryReadNumber(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        return i > start && (text[start] != '0' || i - start == 1);
    }

    // Dot-separated, non-empty identifiers of [0-9A-Za-z-]; prerelease identifiers that are numeric have no leading zero.
    private static bool TryReadIdentifiers(string text, ref int i, bool prerelease)
    {
        while (true)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '-'))
            {
                i++;
            }

            var identifier = text.AsSpan(start, i - start);
            if (identifier.IsEmpty || (prerelease && identifier.Length > 1 && identifier[0] == '0' && IsDigits(identifier)))
            {
                return false;
            }

            if (!TryRead(text, '.', ref i))
            {
                return true;
            }
        }
    }
}
