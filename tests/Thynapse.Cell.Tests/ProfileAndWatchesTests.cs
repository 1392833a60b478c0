namespace Thynapse.Cell.Tests;

/// <summary>What a cell says about itself (<see cref="Profile"/>) and what its watches make of snapshots (<see cref="Watches"/>).</summary>
[TestClass]
public sealed class ProfileAndWatchesTests
{
    [TestMethod]
    public void Apply_MergesRemovesOnNullAndReplaces()
    {
        var profile = new Profile(new JObject { ["region"] = "eu", ["load"] = 1 }, ["a", "a", "b"]);
        CollectionAssert.AreEqual(new[] { "a", "b" }, profile.Tags, "tags are distinct");

        profile.Apply(new MetadataMessage { Metadata = new JObject { ["load"] = 2, ["region"] = null }, Mode = MetadataMode.Merge });
        Assert.IsTrue(JToken.DeepEquals(new JObject { ["load"] = 2 }, profile.Metadata), profile.Metadata.ToString());

        profile.Apply(new MetadataMessage { Metadata = new JObject { ["zone"] = "z" }, Mode = MetadataMode.Replace, Tags = ["c"] });
        Assert.IsTrue(JToken.DeepEquals(new JObject { ["zone"] = "z" }, profile.Metadata), profile.Metadata.ToString());
        CollectionAssert.AreEqual(new[] { "c" }, profile.Tags);
    }

    [TestMethod]
    public void Snapshot_AfterAReJoin_ReportsWhatChangedMeanwhile()
    {
        var watch = new Watches.Watch(1, CellFilter.All, new DispatchQueue<MembershipChange>(16, _ => { }, readByOwner: true));
        var (stays, changes, leaves, joins) = (Thid.NewRandom(), Thid.NewRandom(), Thid.NewRandom(), Thid.NewRandom());
        Watches.Snapshot(watch, Reply(Wire(stays, 1), Wire(changes, 1), Wire(leaves, 1)));
        Drain(watch);

        Watches.Snapshot(watch, Reply(Wire(stays, 1), Wire(changes, 2), Wire(joins, 1)));

        var seen = Drain(watch).Select(c => (c.Kind, c.Cell.Id)).ToHashSet();
        Assert.IsTrue(seen.SetEquals([(MembershipChangeKind.Updated, changes), (MembershipChangeKind.Joined, joins), (MembershipChangeKind.Left, leaves)]),
            string.Join(", ", seen));
        Assert.IsTrue(watch.Started);
    }

    private static CellDescription Wire(Thid id, int version) => new(id, "s", [], new JObject { ["v"] = version }, Thid.Empty);

    private static OkayMessage Reply(params CellDescription[] cells) => new(Command.Wtch) { Cells = cells };

    private static List<MembershipChange> Drain(Watches.Watch watch)
    {
        var changes = new List<MembershipChange>();
        while (watch.Queue.Ring.TryRead(out var change))
        {
            changes.Add(change);
        }

        return changes;
    }
}
