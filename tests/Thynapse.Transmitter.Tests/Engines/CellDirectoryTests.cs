using static Thynapse.Transmitter.Tests.Engines.EngineTestCells;

namespace Thynapse.Transmitter.Tests.Engines;

/// <summary>The cell directory alone: lookups, the join / update / leave feed, the metadata epoch.</summary>
[TestClass]
public sealed class CellDirectoryTests
{
    /// <summary>
    /// The feed reports joins, updates and leaves. The epoch moves on what changes a target's choice without changing
    /// a route plan (a metadata update, a departure that keeps multicatch subscriptions), not on a join or a leave: a
    /// publisher coming and going must not make every narrowed plan be computed again.
    /// </summary>
    [TestMethod]
    public void Feed_ReportsJoinsUpdatesAndLeaves_AndTheEpochMovesOnlyForTargets()
    {
        var directory = new CellDirectory();
        var feed = new List<string>();
        directory.Joined += c => feed.Add($"joined {c.Service}");
        directory.Updated += c => feed.Add($"updated {c.Service}");
        directory.Left += c => feed.Add($"left {c.Service}");
        var cell = NewCell("billing");

        var epoch = directory.MetadataEpoch;
        directory.Add(cell);
        Assert.AreEqual(epoch, directory.MetadataEpoch, "a join changes no plan's choice (it subscribes later, making new plans)");
        Assert.IsTrue(directory.TryGetById(cell.Id, out var byId));
        Assert.AreSame(cell, byId);
        Assert.IsTrue(directory.TryGetByRoutingId(cell.RoutingId, out var byRoutingId));
        Assert.AreSame(cell, byRoutingId);

        directory.Update(cell);
        Assert.IsGreaterThan(epoch, directory.MetadataEpoch, "new metadata can change whom a target admits");
        epoch = directory.MetadataEpoch;
        directory.Remove(cell);
        Assert.AreEqual(epoch, directory.MetadataEpoch);
        directory.Departed();
        Assert.IsGreaterThan(epoch, directory.MetadataEpoch, "a departed cell stays in plans, closed: selectors choose again");
        Assert.AreEqual(0, directory.Count);
        CollectionAssert.AreEqual(new[] { "joined billing", "updated billing", "left billing" }, feed);
    }

    /// <summary>
    /// A cell that re-joined on a new connection before its old session was removed keeps its THID entry: removing the
    /// old session takes only the old connection's routing id away.
    /// </summary>
    [TestMethod]
    public void RemovingAReplacedSession_KeepsTheCurrentOne()
    {
        var directory = new CellDirectory();
        var id = Thid.NewRandom();
        var old = NewCell("billing", id);
        directory.Add(old);
        var current = NewCell("billing", id);
        directory.Remove(old); // as a takeover does: the old session goes first...
        directory.Add(current); // ...then the new one joins
        Assert.IsTrue(directory.TryGetById(id, out var found));
        Assert.AreSame(current, found);
        Assert.IsFalse(directory.TryGetByRoutingId(old.RoutingId, out _));
        Assert.AreEqual(1, directory.Count);
    }
}
