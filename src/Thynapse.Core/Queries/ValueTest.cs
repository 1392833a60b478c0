using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// One operator applied to the value a <see cref="FieldNode"/> resolved (PROTOCOL.md §11.3). The value is null
/// when the field is missing (or JSON <c>null</c>); otherwise a scalar <see cref="JValue"/>, an array or an object.
/// </summary>
/// <remarks>
/// The negated operators (<c>$ne</c>, <c>$nin</c>, <c>$ncontains</c>) are <see cref="NotTest"/> around the positive
/// one, so "not" means the same thing everywhere: a missing field satisfies every negated operator.
/// </remarks>
internal abstract class ValueTest
{
    /// <summary>True when <paramref name="value"/> satisfies the operator.</summary>
    public abstract bool Test(JToken? value);

    /// <summary>
    /// Equality as <c>$eq</c> defines it: a null constant matches only a missing field; any other constant
    /// matches a scalar equal to it, or an array with at least one (scalar) element equal to it.
    /// </summary>
    protected static bool EqualityMatches(JToken? value, in QueryValue constant)
    {
        if (constant.Kind == QueryValueKind.Null)
        {
            return value is null;
        }

        switch (value)
        {
            case JValue scalar:
                return constant.EqualsValue(scalar);
            case JArray array:
                // Indexing, not foreach: JArray's enumerator is a heap object.
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JValue element && constant.EqualsValue(element))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }
}

/// <summary><c>$eq</c> (and the implicit form <c>{"field": value}</c>).</summary>
internal sealed class EqualsTest(QueryValue constant) : ValueTest
{
    private readonly QueryValue _constant = constant;

    /// <inheritdoc />
    public override bool Test(JToken? value) => EqualityMatches(value, _constant);
}

/// <summary><c>$in</c>: equality with at least one of the constants (a <c>null</c> among them matches a missing field).</summary>
internal sealed class InTest(QueryValue[] constants) : ValueTest
{
    // A linear scan: lists are bounded by QueryLimits.MaxArrayLength, and version equality ("1.0.0" = "v1.0.0+b")
    // rules out a plain hash set of strings.
    private readonly QueryValue[] _constants = constants;

    /// <inheritdoc />
    public override bool Test(JToken? value)
    {
        for (var i = 0; i < _constants.Length; i++)
        {
            if (EqualityMatches(value, _constants[i]))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary><c>$gt</c>, <c>$gte</c>, <c>$lt</c>, <c>$lte</c>: a scalar, or at least one element of an array, in order with the constant.</summary>
internal sealed class CompareTest(QueryValue constant, ComparisonOperator comparison) : ValueTest
{
    private readonly QueryValue _constant = constant;
    private readonly ComparisonOperator _comparison = comparison;

    /// <inheritdoc />
    public override bool Test(JToken? value)
    {
        switch (value)
        {
            case JValue scalar:
                return Holds(scalar);
            case JArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JValue element && Holds(element))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private bool Holds(JValue scalar) =>
        _constant.TryCompare(scalar, out var order) && _comparison switch
        {
            ComparisonOperator.GreaterThan => order > 0,
            ComparisonOperator.GreaterThanOrEqual => order >= 0,
            ComparisonOperator.LessThan => order < 0,
            _ => order <= 0,
        };
}

/// <summary>
/// <c>$contains</c>: an array with an element equal to the constant, or a string containing the constant string
/// (ordinal substring). Other values never contain anything.
/// </summary>
internal sealed class ContainsTest(QueryValue constant) : ValueTest
{
    private readonly QueryValue _constant = constant;

    /// <inheritdoc />
    public override bool Test(JToken? value) => value switch
    {
        JArray => EqualityMatches(value, _constant),
        JValue { Type: JTokenType.String, Value: string text } when _constant.Kind == QueryValueKind.String =>
            text.Contains(_constant.Text!, StringComparison.Ordinal),
        _ => false,
    };
}

/// <summary><c>$exists</c>: whether the field is present and not <c>null</c>.</summary>
internal sealed class ExistsTest(bool expected) : ValueTest
{
    private readonly bool _expected = expected;

    /// <inheritdoc />
    public override bool Test(JToken? value) => (value is not null) == _expected;
}

/// <summary><c>$not</c> on a field, and the negated operators.</summary>
internal sealed class NotTest(ValueTest inner) : ValueTest
{
    private readonly ValueTest _inner = inner;

    /// <inheritdoc />
    public override bool Test(JToken? value) => !_inner.Test(value);
}

/// <summary>Several operators on one field (<c>{"$gt": 1, "$lt": 5}</c>): all must hold. The field is resolved once.</summary>
internal sealed class AllOfTest(ValueTest[] tests) : ValueTest
{
    private readonly ValueTest[] _tests = tests;

    /// <inheritdoc />
    public override bool Test(JToken? value)
    {
        for (var i = 0; i < _tests.Length; i++)
        {
            if (!_tests[i].Test(value))
            {
                return false;
            }
        }

        return true;
    }
}
