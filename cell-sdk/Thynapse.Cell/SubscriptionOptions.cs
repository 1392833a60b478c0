namespace Thynapse.Cell;

/// <summary>Per-subscription options.</summary>
public sealed record SubscriptionOptions
{
    /// <summary>No options: the cell's defaults.</summary>
    public static SubscriptionOptions Default { get; } = new();

    /// <summary>
    /// Events this subscription buffers for its observers before it drops and counts further multicatch events
    /// (default: null, meaning <see cref="CellOptions.SubscriptionBufferCapacity"/>).
    /// </summary>
    public int? BufferCapacity { get; init; }

    internal void Validate()
    {
        if (BufferCapacity is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BufferCapacity), BufferCapacity, "A subscription buffers at least one event.");
        }
    }
}
