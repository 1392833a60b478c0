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
    private readonly EventCollector _caught = new();
    private readonly IDisposable _observed;

    private Catcher(CellSubscription subscription)
    {
        _subscription = subscription;
        _observed = subscription.Subscribe(_caught);
    }

    /// <summary>What arrived, in order (<see cref="EventCollector.Events"/>).</summary>
    public IReadOnlyList<Event> Events => _caught.Events;

    /// <summary>How many events arrived.</summary>
    public int Count => _caught.Count;

    /// <summary>Waits (bounded) for <paramref name="count"/> events (<see cref="EventCollector.WaitForAsync"/>).</summary>
    public Task WaitForAsync(int count, string who, CancellationToken cancellationToken = default) => _caught.WaitForAsync(count, who, cancellationToken);

    /// <summary>Throws if the subscription ended with an error (<see cref="EventCollector.AssertNoError"/>).</summary>
    public void AssertNoError(string who = "the subscription") => _caught.AssertNoError(who);

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
