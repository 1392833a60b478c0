namespace Thynapse.Core;

/// <summary>
/// Bounds on the size of a metadata query (PROTOCOL.md §11.6). They cap both the work of compiling a query and
/// the cost of evaluating it against every candidate cell of every event.
/// </summary>
/// <remarks>
/// With the defaults the worst query makes about <see cref="MaxNodes"/> constant comparisons per cell: a few
/// microseconds, so a transmitter evaluating it against 1,000 cells spends milliseconds, not seconds.
/// </remarks>
public sealed record QueryLimits
{
    /// <summary>The defaults listed on each property.</summary>
    public static QueryLimits Default { get; } = new();

    /// <summary>
    /// How deeply objects and arrays may nest, counting the query's own object as 1: <c>{"a": {"$in": [1]}}</c>
    /// has depth 3 (default: 16).
    /// </summary>
    public int MaxDepth { get; init; } = 16;

    /// <summary>
    /// How many nodes a query may have: every operator key (<c>$…</c>, selectors included), every implicit
    /// equality (<c>{"region": "eu"}</c>) and every element of a <c>$in</c>/<c>$nin</c> list counts one (default: 256).
    /// </summary>
    public int MaxNodes { get; init; } = 256;

    /// <summary>How many elements an array in the query (<c>$and</c>, <c>$or</c>, <c>$in</c>, <c>$nin</c>) may hold (default: 128).</summary>
    public int MaxArrayLength { get; init; } = 128;

    /// <summary>How many characters (UTF-16 code units) a string constant or a field path may have (default: 1,024).</summary>
    public int MaxStringLength { get; init; } = 1024;
}
