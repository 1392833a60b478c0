using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// A query's constant operand, converted once at compile time: numbers to <see cref="QueryNumber"/>, strings
/// that are versions to a pre-parsed <see cref="SemanticVersion"/>. Holds the comparison rules of
/// PROTOCOL.md §11.2 (and §11.4 for versions) between itself and one metadata value.
/// </summary>
internal readonly struct QueryValue
{
    private readonly QueryNumber _number;
    private readonly SemanticVersion _version;
    private readonly bool _boolean;
    private readonly bool _isVersion;

    private QueryValue(QueryValueKind kind, string? text = null, QueryNumber number = default, bool boolean = false)
    {
        Kind = kind;
        Text = text;
        _number = number;
        _boolean = boolean;
        _isVersion = text is not null && SemanticVersion.TryParse(text, out _version);
    }

    /// <summary>Which JSON type the constant has.</summary>
    public QueryValueKind Kind { get; }

    /// <summary>The string, when <see cref="Kind"/> is <see cref="QueryValueKind.String"/>.</summary>
    public string? Text { get; }

    /// <summary>Converts a scalar token; false for arrays, objects and non-JSON token types (dates, GUIDs…).</summary>
    public static bool TryCreate(JToken token, out QueryValue value)
    {
        value = default;
        switch (token.Type)
        {
            case JTokenType.Null:
                value = new QueryValue(QueryValueKind.Null);
                return true;
            case JTokenType.Boolean:
                value = new QueryValue(QueryValueKind.Boolean, boolean: (bool)token);
                return true;
            case JTokenType.String:
                value = new QueryValue(QueryValueKind.String, text: (string)token!);
                return true;
            case JTokenType.Integer or JTokenType.Float when QueryNumber.TryRead((JValue)token, out var number):
                value = new QueryValue(QueryValueKind.Number, number: number);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// True when the scalar <paramref name="value"/> equals this constant: numbers numerically, versions by
    /// precedence, other strings ordinally, booleans by value. Different types are never equal.
    /// </summary>
    public bool EqualsValue(JValue value)
    {
        switch (Kind)
        {
            case QueryValueKind.Number:
            case QueryValueKind.String:
                return TryCompare(value, out var order) && order == 0;
            case QueryValueKind.Boolean:
                return value.Type == JTokenType.Boolean && value.Value is bool b && b == _boolean;
            default:
                // A null constant matches a missing field, which never reaches here (FieldPath.Resolve).
                return false;
        }
    }

    /// <summary>
    /// Orders the scalar <paramref name="value"/> relative to this constant (negative: the value is lower);
    /// false when the two cannot be ordered (different types, booleans, nulls, NaN).
    /// </summary>
    public bool TryCompare(JValue value, out int order)
    {
        order = 0;
        if (Kind == QueryValueKind.Number)
        {
            return QueryNumber.TryRead(value, out var number) && number.TryCompareTo(_number, out order);
        }

        if (Kind != QueryValueKind.String || value.Type != JTokenType.String || value.Value is not string text)
        {
            return false;
        }

        // A string compares as a version only when both sides are versions; otherwise ordinally (UTF-16 code units).
        if (_isVersion && SemanticVersion.TryParse(text, out var version))
        {
            order = version.CompareTo(_version);
            return true;
        }

        order = Math.Sign(string.CompareOrdinal(text, Text));
        return true;
    }
}
