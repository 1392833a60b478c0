namespace Thynapse.Core;

/// <summary>Which end of a numeric field a <see cref="QuerySelector"/> picks.</summary>
public enum SelectorKind
{
    /// <summary><c>$min</c>: the cell with the lowest value.</summary>
    Min = 1,

    /// <summary><c>$max</c>: the cell with the highest value.</summary>
    Max = 2,
}
