using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// A compiled metadata query (PROTOCOL.md §11): a Mongo-style filter over a cell's metadata, such as
/// <c>{"region": "eu", "load": {"$lt": 0.5}, "version": {"$gte": "2.0.0"}}</c>, with an optional
/// <c>$min</c>/<c>$max</c> selector that picks one cell among those that match.
/// </summary>
/// <remarks>
/// Compile once with <see cref="Parse"/> or <see cref="TryParse"/>, then evaluate against any number of cells.
/// A query is immutable and thread-safe. <see cref="Matches"/> and <see cref="Pick{T}"/> allocate nothing: paths
/// are split and constants converted (numbers, versions) at compile time, and metadata is only read.
/// Metadata is expected as <see cref="JsonPayload.TryParse"/> reads it, with dates left as strings; a
/// <see cref="JValue"/> of another JSON.NET type (date, GUID, bytes…) equals nothing and orders with nothing.
/// </remarks>
public sealed class MetadataQuery
{
    private readonly FilterNode _filter;
    private readonly string _text;

    private MetadataQuery(FilterNode filter, QuerySelector? selector, string text)
    {
        _filter = filter;
        Selector = selector;
        _text = text;
    }

    /// <summary>The query's <c>$min</c>/<c>$max</c> selector, or null when it has none.</summary>
    public QuerySelector? Selector { get; }

    /// <summary>Compiles a query.</summary>
    /// <param name="json">The query: a JSON object.</param>
    /// <param name="limits">Size limits (default: <see cref="QueryLimits.Default"/>).</param>
    /// <exception cref="QueryException">The query is invalid or too large; its <see cref="QueryException.Error"/> says why and where.</exception>
    public static MetadataQuery Parse(JToken json, QueryLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        return TryParse(json, limits, out var query, out var error) ? query : throw new QueryException(error);
    }

    /// <summary>Compiles a query, describing the first problem found instead of throwing.</summary>
    /// <param name="json">The query: a JSON object (null is refused as <see cref="QueryErrorKind.InvalidShape"/>).</param>
    /// <param name="limits">Size limits (null: <see cref="QueryLimits.Default"/>).</param>
    /// <param name="query">The compiled query, when the result is true.</param>
    /// <param name="error">What is wrong and where, when the result is false.</param>
    public static bool TryParse(
        JToken? json,
        QueryLimits? limits,
        [NotNullWhen(true)] out MetadataQuery? query,
        [NotNullWhen(false)] out QueryError? error)
    {
        query = null;
        if (!QueryCompiler.TryCompile(json, limits ?? QueryLimits.Default, out var filter, out var selector, out error))
        {
            return false;
        }

        query = new MetadataQuery(filter, selector, json.ToString(Formatting.None));
        return true;
    }

    /// <summary>True when a cell with this metadata matches the filter (the selector plays no part).</summary>
    /// <param name="metadata">The cell's metadata; null stands for a cell without metadata, where every field is missing.</param>
    /// <remarks>
    /// Only reads <paramref name="metadata"/>, so any number of threads may evaluate queries against the same object,
    /// as long as nobody modifies it meanwhile (JSON.NET objects are not safe for reading during a write).
    /// </remarks>
    public bool Matches(JObject? metadata) => _filter.Matches(metadata);

    /// <summary>
    /// Scans <paramref name="candidates"/> once and returns the index of the cell this query chooses, or -1 when it
    /// chooses none: with a selector, the matching cell with the lowest or highest value (the first on a tie;
    /// matching cells without a number there are skipped); without one, the first matching cell.
    /// </summary>
    /// <param name="candidates">The cells to choose from, in the order that breaks ties.</param>
    /// <param name="metadata">Gives a candidate's metadata (null: none). Pass a static lambda so that no closure is allocated.</param>
    public int Pick<T>(IReadOnlyList<T> candidates, Func<T, JObject?> metadata)
    {
        if (Selector is not null)
        {
            return Selector.Pick(candidates, metadata, _filter);
        }

        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(metadata);
        var count = candidates.Count;
        for (var i = 0; i < count; i++)
        {
            if (_filter.Matches(metadata(candidates[i])))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The query as compact JSON, as it was compiled.</summary>
    public override string ToString() => _text;
}
