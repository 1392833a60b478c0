using Thynapse.Cell;
using Thynapse.Core;

namespace Thynapse.TestKit;

/// <summary>
/// A subscription whose events an <see cref="EventCollector"/> keeps, the two disposed together (the observer first):
/// what a test subscribes for when it only counts or reads what arrived.
/// </summary>
public sealed class Catcher : IAsyncDisposable
{
    private readonly CellSubscription _subscription;
    private readonly IDisposable _observed;

    private Catcher(CellSubscription subscription)
    {
        _subscription = subscription;
        _observed = subscription.Subscribe(Events);
    }

    /// <summary>What arrived, in order.</summary>
    public EventCollector Events { get; } = new();

    /// <summary>Subscribes <paramref name="cell"/> to <paramref name="pattern"/> and collects what it catches.</summary>
    public static async Task<Catcher> SubscribeAsync(Cell.Cell cell, string pattern, Catch mode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cell);
        return new Catcher(await cell.SubscribeAsync(pattern, mode, cancellationToken));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _observed.Dispose();
        await _subscription.DisposeAsync();
    }
}
