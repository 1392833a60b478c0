namespace Thynapse.Core;

/// <summary>CURVE keys as Thynapse writes them: Z85 (ZeroMQ RFC 32), 40 characters for 32 bytes.</summary>
public static class CurveKeys
{
    /// <summary>Characters in a Z85 key.</summary>
    public const int Length = 40;

    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

    /// <summary>True when <paramref name="key"/> is 40 characters of the Z85 alphabet, each group of 5 within 32 bits.</summary>
    public static bool IsKey(string? key)
    {
        if (key is not { Length: Length })
        {
            return false;
        }

        for (var group = 0; group < Length; group += 5)
        {
            ulong value = 0;
            for (var i = group; i < group + 5; i++)
            {
                var digit = Alphabet.IndexOf(key[i], StringComparison.Ordinal);
                if (digit < 0)
                {
                    return false;
                }

                value = (value * 85) + (ulong)digit;
            }

            if (value > uint.MaxValue)
            {
                return false;
            }
        }

        return true;
    }
}
