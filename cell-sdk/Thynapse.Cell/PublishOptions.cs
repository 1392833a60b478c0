namespace Thynapse.Cell;

/// <summary>Per-publish options.</summary>
public sealed record PublishOptions
{
    /// <summary>No options.</summary>
    public static PublishOptions Default { get; } = new();

    /// <summary>
    /// A key for anycatch: events with the same key go to the same cell of a service while it lives
    /// (default: null). At most 1,024 bytes of UTF-8.
    /// </summary>
    public string? Key { get; init; }
}
