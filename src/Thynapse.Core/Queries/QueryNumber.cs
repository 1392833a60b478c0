using System.Globalization;
using System.Numerics;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// A JSON number as the query language compares it (PROTOCOL.md §11.2): two integers that fit in 64 signed bits
/// compare exactly, anything else as IEEE doubles. Exactness matters for ids such as Discord snowflakes
/// (about 2^60), which doubles would round into each other.
/// </summary>
internal readonly struct QueryNumber
{
    private readonly long _integer;
    private readonly double _float;

    private QueryNumber(long integer)
    {
        _integer = integer;
        _float = integer;
        IsInteger = true;
    }

    private QueryNumber(double value) => _float = value;

    /// <summary>True when the number is an integer in the 64-bit signed range, compared exactly.</summary>
    public bool IsInteger { get; }

    /// <summary>The number as a double (rounded for integers beyond 2^53).</summary>
    public double AsDouble => _float;

    /// <summary>
    /// Reads a JSON number without boxing or allocating: <see cref="JValue.Value"/> already holds the boxed
    /// value, and unboxing or <see cref="IConvertible"/> on it allocates nothing.
    /// </summary>
    /// <returns>False when <paramref name="value"/> is not a number.</returns>
    public static bool TryRead(JValue value, out QueryNumber number)
    {
        switch (value.Type)
        {
            case JTokenType.Integer:
                number = value.Value switch
                {
                    long l => new QueryNumber(l),
                    BigInteger b => b >= long.MinValue && b <= long.MaxValue ? new QueryNumber((long)b) : new QueryNumber((double)b),
                    ulong u => u <= long.MaxValue ? new QueryNumber((long)u) : new QueryNumber((double)u),
                    var other => new QueryNumber(Convert.ToInt64(other, CultureInfo.InvariantCulture)),
                };
                return true;
            case JTokenType.Float:
                number = value.Value is double d ? new QueryNumber(d) : new QueryNumber(Convert.ToDouble(value.Value, CultureInfo.InvariantCulture));
                return true;
            default:
                number = default;
                return false;
        }
    }

    /// <summary>
    /// Orders two numbers; false when they are unordered (a NaN, which JSON cannot carry but a hand-built
    /// <see cref="JValue"/> can).
    /// </summary>
    public bool TryCompareTo(in QueryNumber other, out int order)
    {
        if (IsInteger && other.IsInteger)
        {
            order = _integer.CompareTo(other._integer);
            return true;
        }

        if (double.IsNaN(_float) || double.IsNaN(other._float))
        {
            order = 0;
            return false;
        }

        order = _float.CompareTo(other._float);
        return true;
    }
}
