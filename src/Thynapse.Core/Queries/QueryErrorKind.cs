namespace Thynapse.Core;

/// <summary>
/// Why a metadata query was refused (PROTOCOL.md §11.7). <see cref="TooDeep"/> maps to <c>QUERY_TOO_DEEP</c>,
/// <see cref="TooLarge"/> to <c>QUERY_TOO_LARGE</c>, every other kind to <c>INVALID_QUERY</c>.
/// </summary>
public enum QueryErrorKind
{
    /// <summary>
    /// The structure is wrong: the query or a <c>$and</c>/<c>$or</c> element is not an object, a field's value is an
    /// object without operators, operators and fields are mixed, an operator stands where it cannot, or a selector
    /// is nested or repeated.
    /// </summary>
    InvalidShape = 1,

    /// <summary>A key starting with <c>$</c> is not an operator of the language.</summary>
    UnknownOperator = 2,

    /// <summary>An operator's operand has the wrong type (<c>$in</c> without an array, <c>$gt</c> with a boolean…).</summary>
    InvalidOperand = 3,

    /// <summary>A field path is malformed: an empty segment, or a segment starting with <c>$</c>.</summary>
    InvalidPath = 4,

    /// <summary>Objects and arrays nest deeper than <see cref="QueryLimits.MaxDepth"/>.</summary>
    TooDeep = 5,

    /// <summary>The query breaks <see cref="QueryLimits.MaxNodes"/>, <see cref="QueryLimits.MaxArrayLength"/> or <see cref="QueryLimits.MaxStringLength"/>.</summary>
    TooLarge = 6,
}
