namespace Thynapse.Core;

/// <summary>The ordering operators <c>$gt $gte $lt $lte</c>.</summary>
internal enum ComparisonOperator : byte
{
    /// <summary><c>$gt</c>.</summary>
    GreaterThan,

    /// <summary><c>$gte</c>.</summary>
    GreaterThanOrEqual,

    /// <summary><c>$lt</c>.</summary>
    LessThan,

    /// <summary><c>$lte</c>.</summary>
    LessThanOrEqual,
}
