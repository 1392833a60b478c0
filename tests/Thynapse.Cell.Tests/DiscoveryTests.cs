namespace Thynapse.Cell.Tests;

/// <summary>Finding cells by service, tags and query; watching them come, change and go.</summary>
[TestClass]
public sealed class DiscoveryTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task FindCells_FiltersByServiceTagsAndQuery()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var a = await Cells.ConnectAsync(transmitter, "imaging", o => o with { Tags = ["gpu", "prod"], Metadata = JObject.Parse("{\"region\":\"eu\"}") }, Ct);
        await using var b = await Cells.ConnectAsync(transmitter, "imaging", o => o with { Tags = ["prod"], Metadata = JObject.Parse("{\"region\":\"us\"}") }, Ct);
        await using var c = await Cells.ConnectAsync(transmitter, "billing", o => o with { Tags = ["prod"] }, Ct);

        var imaging = await c.FindCellsAsync(new CellFilter { Service = "imaging" }, Ct);
        var gpus = await c.FindCellsAsync(new CellFilter { Tags = ["gpu", "prod"] }, Ct);
        var eu = await c.FindCellsAsync(new CellFilter { Query = JObject.Parse("{\"region\":\"eu\"}") }, Ct);
        var all = await c.FindCellsAsync(cancellationToken: Ct);

        CollectionAssert.AreEquivalent(new[] { a.Id, b.Id }, imaging.Select(i => i.Id).ToArray());
        Assert.AreEqual(a.Id, gpus.Single().Id);
        Assert.AreEqual(a.Id, eu.Single().Id);
        Assert.HasCount(3, all);
        var described = imaging.Single(i => i.Id == a.Id);
        Assert.AreEqual("imaging", described.Service);
        CollectionAssert.AreEquivalent(new[] { "gpu", "prod" }, described.Tags.ToArray());
        Assert.AreEqual("eu", described.Metadata.Value<string>("region"));
        Assert.AreEqual(transmitter.Id, described.Transmitter);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Watch_ReportsTheCurrentSetThenJoinsUpdatesAndLeaves()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var existing = await Cells.ConnectAsync(transmitter, "renderer", o => o with { Metadata = JObject.Parse("{\"version\":\"2.1.0\"}") }, Ct);
        await using var watcher = await Cells.ConnectAsync(transmitter, "ops", Ct);
        var changes = new ConcurrentQueue<MembershipChange>();
        using var watching = watcher.Watch(new CellFilter { Service = "renderer", Query = JObject.Parse("{\"version\":{\"$gte\":\"2.0.0\"}}") }).Subscribe(changes.Enqueue);
        await Eventually.That("the current set is reported", () => changes.Count == 1, cancellationToken: Ct);

        var joining = await Cells.ConnectAsync(transmitter, "renderer", o => o with { Metadata = JObject.Parse("{\"version\":\"2.5.0\"}") }, Ct);
        await Eventually.That("the join is reported", () => changes.Count == 2, cancellationToken: Ct);
        await joining.SetMetadataAsync("load", 0.4, Ct);
        await Eventually.That("the update is reported", () => changes.Count == 3, cancellationToken: Ct);
        await existing.SetMetadataAsync("version", "1.9.0", Ct); // no longer matches
        await Eventually.That("the cell that stopped matching is reported as left", () => changes.Count == 4, cancellationToken: Ct);
        await joining.DisposeAsync();
        await Eventually.That("the departure is reported", () => changes.Count == 5, cancellationToken: Ct);
        await using var outsider = await Cells.ConnectAsync(transmitter, "billing", Ct);
        await existing.SetMetadataAsync("version", "3.0.0", Ct); // matches again: a sentinel for "nothing else happened"
        await Eventually.That("the sentinel change is reported", () => changes.Count == 6, cancellationToken: Ct);

        var seen = changes.ToArray();
        Assert.AreEqual((MembershipChangeKind.Joined, existing.Id), (seen[0].Kind, seen[0].Cell.Id));
        Assert.AreEqual((MembershipChangeKind.Joined, joining.Id), (seen[1].Kind, seen[1].Cell.Id));
        Assert.AreEqual((MembershipChangeKind.Updated, joining.Id), (seen[2].Kind, seen[2].Cell.Id));
        Assert.AreEqual(0.4, seen[2].Cell.Metadata.Value<double>("load"));
        Assert.AreEqual((MembershipChangeKind.Left, existing.Id), (seen[3].Kind, seen[3].Cell.Id));
        Assert.AreEqual((MembershipChangeKind.Left, joining.Id), (seen[4].Kind, seen[4].Cell.Id));
        Assert.AreEqual((MembershipChangeKind.Joined, existing.Id), (seen[5].Kind, seen[5].Cell.Id), "the billing cell never showed up");
    }
}
