namespace Thynapse.Cell.Tests;

/// <summary>The wildcard table of PROTOCOL.md §3.2, each row routed through a real transmitter.</summary>
[TestClass]
public sealed class WildcardRoutingTests : TestBase
{
    private static readonly Thynapse.Transmitter.Transmitter _transmitter = SharedTransmitter.Instance;
    private static Cell _receiver = null!;
    private static Cell _publisher = null!;

    public static IEnumerable<object[]> Cases => WildcardCases.All;

    [ClassInitialize]
    public static async Task Start(TestContext context)
    {
        _receiver = await Cells.ConnectAsync(_transmitter, "wildcards", context.CancellationToken);
        _publisher = await Cells.ConnectAsync(_transmitter, "publisher", context.CancellationToken);
    }

    [ClassCleanup]
    public static async Task Stop()
    {
        await _receiver.DisposeAsync();
        await _publisher.DisposeAsync();
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    [Timeout(15_000)]
    public async Task Pattern_RoutesExactlyTheChannelsItMatches(string pattern, string channel, bool matches)
    {
        // A unique first token keeps rows apart; it does not change whether the rest matches.
        var scope = TestIds.Next("wc");
        await using var collector = await Catcher.SubscribeAsync(_receiver, $"{scope}.{pattern}", Catch.Multi, Ct);

        var result = await _publisher.PublishAsync($"{scope}.{channel}", "x", cancellationToken: Ct);

        Assert.AreEqual(matches ? 1 : 0, result.Receivers, $"'{pattern}' vs '{channel}'");
        if (matches)
        {
            await collector.WaitForAsync(1, "the subscriber", Ct);
            Assert.AreEqual($"{scope}.{channel}", collector.Events[0].Channel);
        }
    }
}
