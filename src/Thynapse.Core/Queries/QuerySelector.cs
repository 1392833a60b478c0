using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// The <c>$min</c>/<c>$max</c> part of a query: picks one cell, the one with the lowest or highest value of a
/// numeric field (PROTOCOL.md §11.5).
/// </summary>
/// <remarks>
/// A cell is eligible only when the field holds a number; cells where it is missing, <c>null</c>, a string, a list
/// or anything else are skipped. Values compare as IEEE doubles; on a tie the earlier candidate wins, so the
/// caller's candidate order breaks ties. Immutable and thread-safe; picking allocates nothing.
/// </remarks>
public sealed class QuerySelector
{
    private readonly FieldPath _path;

    internal QuerySelector(SelectorKind kind, FieldPath path)
    {
        Kind = kind;
        _path = path;
    }

    /// <summary>Whether the lowest or the highest value wins.</summary>
    public SelectorKind Kind { get; }

    /// <summary>The dotted path of the field compared.</summary>
    public string Path => _path.Text;

    /// <summary>Reads the field the selector compares; false when the cell is not eligible (no number there).</summary>
    public bool TryGetKey(JObject? metadata, out double key)
    {
        if (_path.Resolve(metadata) is JValue value && QueryNumber.TryRead(value, out var number) && !double.IsNaN(number.AsDouble))
        {
            key = number.AsDouble;
            return true;
        }

        key = 0;
        return false;
    }

    /// <summary>
    /// Scans <paramref name="candidates"/> once and returns the index of the eligible one with the lowest
    /// (<c>$min</c>) or highest (<c>$max</c>) value, the first on a tie; -1 when none is eligible. Does not apply the
    /// query's filter: <see cref="MetadataQuery.Pick{T}"/> does both.
    /// </summary>
    /// <param name="candidates">The cells to choose from.</param>
    /// <param name="metadata">Gives a candidate's metadata (null: none). Pass a static lambda so that no closure is allocated.</param>
    public int Pick<T>(IReadOnlyList<T> candidates, Func<T, JObject?> metadata) => Pick(candidates, metadata, filter: null);

    /// <summary>The one selection loop, with an optional filter applied to each candidate first.</summary>
    internal int Pick<T>(IReadOnlyList<T> candidates, Func<T, JObject?> metadata, FilterNode? filter)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(metadata);
        var best = -1;
        var bestKey = 0.0;
        var count = candidates.Count;
        for (var i = 0; i < count; i++)
        {
            var cell = metadata(candidates[i]);
            if ((filter is null || filter.Matches(cell)) && TryGetKey(cell, out var key) && (best < 0 || Beats(key, bestKey)))
            {
                best = i;
                bestKey = key;
            }
        }

        return best;
    }

    // Strict comparison, so that an equal value found later does not displace the first.
    private bool Beats(double key, double bestKey) => Kind == SelectorKind.Min ? key < bestKey : key > bestKey;

    /// <inheritdoc />
    public override string ToString() => Kind == SelectorKind.Min ? $"$min {Path}" : $"$max {Path}";
}
