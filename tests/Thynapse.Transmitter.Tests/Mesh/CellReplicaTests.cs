using Microsoft.Extensions.Time.Testing;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The replicated cell directory's engine (PROTOCOL.md §12.8) on a fake clock: deltas applied by version whatever their
/// order, tombstones that stop a late record from resurrecting a cell and that expire, snapshots after a gap, a dead
/// owner's cells, an owner's restart, and the local half's versions.
/// </summary>
[TestClass]
public sealed class CellReplicaTests
{
    private const long Inc = 1_800_000_000_000;
    private static readonly Thid Owner = Thid.NewRandom();
    private readonly FakeTimeProvider _time = new() { AutoAdvanceAmount = TimeSpan.Zero };
    private readonly HashSet<Thid> _serving = [Owner];
    private readonly List<string> _events = [];
    private StallAwareClock _clock = null!;
    private CellReplica _replica = null!;

    [TestInitialize]
    public void Start()
    {
        _clock = new StallAwareClock(_time, TimeSpan.FromMilliseconds(200));
        _replica = new CellReplica(() => Inc, _serving.Contains, _clock, TimeSpan.FromSeconds(2), new Diagnostics.TransmitterCounters());
        _replica.Joined += c => _events.Add($"joined {c.Service} {c.Metadata["v"]} at {c.Transmitter == Owner}");
        _replica.Updated += c => _events.Add($"updated {c.Service} {c.Metadata["v"]}");
        _replica.Left += c => _events.Add($"left {c.Service} closed={c.Closed}");
    }

    [TestMethod]
    public void Deltas_UpChangedDown_AreAppliedAndRaised_AndLeaveATombstone()
    {
        var x = Thid.NewRandom();

        _replica.Apply(Owner, [Up(x, "x", 1, v: 1)]);
        _replica.Apply(Owner, [Up(x, "x", 2, v: 2)]);
        var cell = _replica.Cells.Single();
        _replica.Apply(Owner, [CellRecord.Down(x, V(3))]);

        CollectionAssert.AreEqual(new[] { "joined x 1 at True", "updated x 2", "left x closed=True" }, _events);
        Assert.AreEqual(x, cell.Id);
        Assert.AreEqual(0, _replica.Count);
        Assert.AreEqual(1, _replica.Tombstones);
    }

    [TestMethod]
    public void Deltas_Reordered_HigherVersionWins_OlderIsCountedStale()
    {
        var x = Thid.NewRandom();

        _replica.Apply(Owner, [Up(x, "x", 5, v: 5)]);
        _replica.Apply(Owner, [Up(x, "x", 4, v: 4)]);
        _replica.Apply(Owner, [Up(x, "x", 5, v: 5)]); // repeated

        Assert.AreEqual(5, (int)_replica.Cells.Single().Metadata["v"]!);
        Assert.AreEqual(2L, _replica.Stale);
        CollectionAssert.AreEqual(new[] { "joined x 5 at True" }, _events);
    }

    [TestMethod]
    public void Tombstone_StopsALateUpRecord_UntilItExpires()
    {
        var x = Thid.NewRandom();
        _replica.Apply(Owner, [CellRecord.Down(x, V(3))]); // the down overtook the up

        _replica.Apply(Owner, [Up(x, "x", 2, v: 2)]);
        Assert.AreEqual(0, _replica.Count, "the late up is older than the tombstone");
        Assert.AreEqual(1, _replica.Tombstones);

        Run(TimeSpan.FromMilliseconds(1900));
        Assert.AreEqual(1, _replica.Tombstones, "kept for the whole tombstone time");
        Run(TimeSpan.FromMilliseconds(200));
        Assert.AreEqual(0, _replica.Tombstones, "forgotten after it: memory is bounded");
        _replica.Apply(Owner, [Up(x, "x", 6, v: 6)]);
        Assert.AreEqual(1, _replica.Count, "a newer up brings it back");
    }

    [TestMethod]
    public void Snapshot_AfterAGap_DropsWhatItDoesNotList_AddsWhatWasMissed_AndFloorsLateRecords()
    {
        Thid x = Thid.NewRandom(), y = Thid.NewRandom(), z = Thid.NewRandom();
        _replica.Apply(Owner, [Up(x, "x", 1, v: 1)]);
        _replica.Apply(Owner, [Up(y, "y", 2, v: 2)]);
        // Lost: y down at 3, z up at 4. The gap brings a snapshot as of 4.
        _replica.ApplySnapshot(Owner, new CellSnapshot(V(4), [Up(x, "x", 1, v: 1), Up(z, "z", 4, v: 4)]));

        CollectionAssert.AreEquivalent(new[] { "x", "z" }, _replica.Cells.Select(c => c.Service).ToArray());
        CollectionAssert.AreEqual(new[] { "joined x 1 at True", "joined y 2 at True", "joined z 4 at True", "left y closed=True" }, _events);

        _replica.Apply(Owner, [Up(y, "y", 2, v: 2)]); // the lost-then-late broadcast of y
        _replica.Apply(Owner, [Up(Thid.NewRandom(), "w", 3, v: 3)]); // a cell that came and went before the snapshot
        Assert.AreEqual(2, _replica.Count, "nothing at or below the snapshot's version comes back");
    }

    [TestMethod]
    public void Snapshot_KeepsADeltaNewerThanItself_ThatArrivedFirst()
    {
        var x = Thid.NewRandom();
        _replica.Apply(Owner, [Up(x, "x", 7, v: 7)]); // broadcast after the snapshot was taken, heard before it

        _replica.ApplySnapshot(Owner, new CellSnapshot(V(6), []));

        Assert.AreEqual(7, (int)_replica.Cells.Single().Metadata["v"]!);
    }

    [TestMethod]
    public void OwnerGone_ItsCellsLeave_AndRecordsFromAnOwnerNotServingAreIgnored()
    {
        Thid x = Thid.NewRandom(), y = Thid.NewRandom();
        _replica.Apply(Owner, [Up(x, "x", 1, v: 1), Up(y, "y", 2, v: 2)]);

        _serving.Remove(Owner);
        _replica.OwnerGone(Owner);
        _replica.Apply(Owner, [Up(x, "x", 3, v: 3)]);

        Assert.AreEqual(0, _replica.Count);
        Assert.AreEqual(2, _events.Count(e => e.StartsWith("left", StringComparison.Ordinal)));
        _serving.Add(Owner); // refuted: alive again, its snapshot restores its cells
        _replica.ApplySnapshot(Owner, new CellSnapshot(V(3), [Up(x, "x", 3, v: 3)]));
        Assert.AreEqual("x", _replica.Cells.Single().Service);
    }

    [TestMethod]
    public void Restart_TheNewIncarnationsSnapshot_ReplacesTheOldOnesCells()
    {
        Thid x = Thid.NewRandom(), y = Thid.NewRandom();
        _replica.Apply(Owner, [Up(x, "x", 40, v: 1), Up(y, "y", 41, v: 1)]);

        var restarted = new CellVersion(Inc + 5000, 1);
        _replica.ApplySnapshot(Owner, new CellSnapshot(restarted, [CellRecord.Of(Profile(x, "x", 2), restarted)]));

        Assert.AreEqual(2, (int)_replica.Cells.Single().Metadata["v"]!, "x re-joined the new process; y did not");
        Assert.AreEqual("x", _replica.Cells.Single().Service);
    }

    /// <summary>
    /// The directory's feed is coalesced per routing burst: a cell that joins and subscribes many times is one record at
    /// one version at the flush, holding every subscription; a cell that joins and leaves within one burst was never
    /// published, so nothing goes down; the snapshot includes what was not flushed yet.
    /// </summary>
    [TestMethod]
    public void Local_ChangesFromTheDirectory_AreOneRecordACellAtTheEndOfTheBurst()
    {
        var published = new List<CellRecord>();
        _replica.Publish = published.Add;
        var directory = new CellDirectory();
        _replica.Follow(directory);
        var busy = Engines.EngineTestCells.NewCell("busy");
        var brief = Engines.EngineTestCells.NewCell("brief");

        directory.Add(busy);
        for (var i = 1u; i <= 1000; i++)
        {
            Engines.EngineTestCells.Subscribe(busy, i, $"p{i}");
            directory.Update(busy);
        }

        directory.Add(brief);
        directory.Remove(brief);
        Assert.IsEmpty(published, "nothing before the burst ends");
        _replica.FlushLocal();

        var record = published.Single();
        Assert.AreEqual(busy.Id, record.Id);
        Assert.AreEqual(1L, record.Version.Counter, "one version for the burst's changes");
        Assert.HasCount(1000, record.Subscriptions, "the cell as it is at the end of the burst");
        _replica.FlushLocal();
        Assert.HasCount(1, published, "nothing changed since");

        Engines.EngineTestCells.Subscribe(busy, 1001, "p1001");
        directory.Update(busy);
        var snapshot = _replica.LocalSnapshot();
        Assert.HasCount(1001, snapshot.Cells.Single().Subscriptions, "the snapshot holds the change not flushed yet");
        Assert.AreEqual(V(2), snapshot.At);
        directory.Remove(busy);
        Assert.IsFalse(published[^1].Up, "a published cell that leaves goes down at once");
        Assert.AreEqual(V(3), published[^1].Version);
    }

    [TestMethod]
    public void Local_ChangesTakeIncreasingVersions_AndTheSnapshotHoldsTheLiveCells()
    {
        var published = new List<CellRecord>();
        _replica.Publish = published.Add;
        Thid x = Thid.NewRandom(), y = Thid.NewRandom();

        _replica.LocalChanged(Profile(x, "x", 1));
        _replica.LocalChanged(Profile(y, "y", 1));
        _replica.LocalChanged(Profile(x, "x", 2));
        _replica.LocalDown(y);
        _replica.LocalDown(y); // not live: nothing

        CollectionAssert.AreEqual(new long[] { 1, 2, 3, 4 }, published.Select(r => r.Version.Counter).ToArray());
        Assert.IsFalse(published[3].Up);
        var snapshot = _replica.LocalSnapshot();
        Assert.AreEqual(V(4), snapshot.At);
        Assert.AreEqual(x, snapshot.Cells.Single().Id);
        Assert.AreEqual(V(3), snapshot.Cells.Single().Version);
    }

    [TestMethod]
    public void Records_RoundTripOnTheWire_AndAMalformedOneIsNamed()
    {
        var x = Thid.NewRandom();
        var header = new StreamHeader(Owner, Inc, 9);
        var frame = new CellsMessage(header, [Up(x, "x", 3, v: 3), CellRecord.Down(Thid.NewRandom(), V(4))]).ToFrame();
        Assert.IsTrue(MeshFrames.TryParse(frame, out var command, out var json, out _));
        Assert.AreEqual(MeshCommand.Cels, command);
        Assert.IsTrue(CellsMessage.TryRead(json!, out var read, out var error), error);
        Assert.AreEqual(header, read!.Header);
        Assert.AreEqual(V(3), read.Cells[0].Version);
        Assert.AreEqual(3, (int)read.Cells[0].Metadata["v"]!);
        Assert.IsFalse(read.Cells[1].Up);

        var answer = new MembersMessage(header, [], new CellSnapshot(V(3), [Up(x, "x", 3, v: 3)])).ToFrame();
        Assert.IsTrue(MeshFrames.TryParse(answer, out _, out json, out _));
        Assert.IsTrue(MembersMessage.TryRead(json!, out var members, out error), error);
        Assert.AreEqual(V(3), members!.Cells!.At);
        Assert.AreEqual(x, members.Cells.Cells.Single().Id);

        json!["cells"]![0]!["version"] = new JArray(0, 1);
        Assert.IsFalse(MembersMessage.TryRead(json, out _, out error));
        Assert.AreEqual("cells[0]: field 'version' must be [incarnation, counter]: two integers, the first from 1", error);
    }

    [TestMethod]
    public void Interest_TravelsAsTheLatestSet_InTheRouteTable_WhateverTheOrder()
    {
        var routes = new Routing.RouteTable();
        _replica.Routes = routes;
        var x = Thid.NewRandom();

        _replica.Apply(Owner, [WithSubs(x, 1, Sub(1, "orders.*", Catch.Multi), Sub(2, "jobs.>", Catch.Any, ack: true))]);
        var cell = _replica.Cells.Single();
        Assert.AreSame(cell, Plan(routes, "orders.created").RemoteMulticatch.Single(), "a remote multicatch receiver of the channel");
        Assert.AreEqual(0, Plan(routes, "orders.created").Multicatch.Length, "kept apart from local receivers");
        Assert.AreEqual(2, routes.Subscriptions);
        var acks = cell.Profile.Subscriptions[2].Acks!;
        Assert.AreEqual((7, TimeSpan.FromSeconds(9), 4), (acks.Prefetch, acks.AckTimeout, acks.MaxAttempts), "the owner's acknowledgement settings");

        // UNSB 1 at the owner (version 3), then a reordered older record that still had it (version 2): the latest set wins.
        _replica.Apply(Owner, [WithSubs(x, 3, Sub(2, "jobs.>", Catch.Any, ack: true))]);
        _replica.Apply(Owner, [WithSubs(x, 2, Sub(1, "orders.*", Catch.Multi), Sub(2, "jobs.>", Catch.Any, ack: true))]);
        Assert.AreEqual(0, Plan(routes, "orders.created").RemoteMulticatch.Length, "the unsubscribed pattern is gone and stays gone");
        Assert.AreEqual(1, routes.Subscriptions);
        Assert.AreEqual(1L, _replica.Stale);
        CollectionAssert.AreEqual(new[] { "joined x 1 at True" }, _events, "a change of interest alone is no news to discovery");

        // A kept subscription is the same object (its deliveries in flight stay with it); one whose settings changed is replaced.
        var jobs = cell.Profile.Subscriptions[2];
        _replica.Apply(Owner, [WithSubs(x, 4, Sub(2, "jobs.>", Catch.Any, ack: true))]);
        Assert.AreSame(jobs, cell.Profile.Subscriptions[2]);
        _replica.Apply(Owner, [WithSubs(x, 5, Sub(2, "jobs.>", Catch.Multi))]);
        Assert.IsFalse(jobs.Active, "replaced: it gets nothing new");
        Assert.AreSame(cell, Plan(routes, "jobs.run").RemoteMulticatch.Single());

        _replica.Apply(Owner, [CellRecord.Down(x, V(6))]);
        Assert.AreEqual(0, routes.Subscriptions, "a down cell's subscriptions leave the table");
        Assert.IsFalse(cell.Profile.Subscriptions[2].Active);
    }

    [TestMethod]
    public void Interest_OfADeadOwner_AndOfASnapshotsMissingCell_LeavesTheRouteTable()
    {
        var routes = new Routing.RouteTable();
        _replica.Routes = routes;
        var x = Thid.NewRandom();
        var y = Thid.NewRandom();
        _replica.ApplySnapshot(Owner, new CellSnapshot(V(2), [WithSubs(x, 1, Sub(1, "a.b", Catch.Multi)), WithSubs(y, 2, Sub(1, "a.b", Catch.Any))]));
        Assert.AreEqual(2, routes.Subscriptions);

        _replica.ApplySnapshot(Owner, new CellSnapshot(V(3), [WithSubs(y, 2, Sub(1, "a.b", Catch.Any))]));
        Assert.AreEqual(1, routes.Subscriptions, "x, missing from the snapshot, is down");
        _replica.OwnerGone(Owner);
        Assert.AreEqual(0, routes.Subscriptions, "the dead owner's cells take their interest with them");
    }

    [TestMethod]
    public void Interest_RoundTripsOnTheWire_AsSubsEntries_AndABadOneIsNamed()
    {
        var profile = Profile(Thid.NewRandom(), "x", 1);
        profile.Subscriptions[4] = new Routing.Subscription(new Sessions.LocalCell([1], profile, false, "t", 0), 4, ChannelPattern.Parse("jobs.*"), Catch.Any,
            new Routing.AckSettings(7, TimeSpan.FromSeconds(9), 9, 4));
        profile.Subscriptions[2] = new Routing.Subscription(new Sessions.LocalCell([1], profile, false, "t", 0), 2, ChannelPattern.Parse("a.>"), Catch.Multi, null);

        var json = CellRecord.Of(profile, V(1)).ToJson();
        Assert.AreEqual("""[{"sub":2,"pattern":"a.>","mode":"multi"},{"sub":4,"pattern":"jobs.*","mode":"any","ack":true,"prefetch":7,"ackTimeout":9000,"maxAttempts":4}]""",
            json["subs"]!.ToString(Newtonsoft.Json.Formatting.None));
        var read = CellRecord.Read(json, 0, out var error)!;
        Assert.IsNull(error);
        CollectionAssert.AreEqual(new uint[] { 2, 4 }, read.Subscriptions.Select(s => s.Sub).ToArray());
        Assert.AreEqual(Catch.Any, read.Subscriptions[1].Mode);
        Assert.AreEqual(9000u, read.Subscriptions[1].AckTimeout);

        json["subs"]![1]!["pattern"] = "jobs..x";
        Assert.IsNull(CellRecord.Read(json, 3, out error));
        StringAssert.StartsWith(error, "cells[3]: subs[1]: invalid pattern 'jobs..x'");
    }

    private static SubscribeMessage Sub(uint id, string pattern, Catch mode, bool ack = false) =>
        ack ? new SubscribeMessage(id, ChannelPattern.Parse(pattern), mode) { Ack = true, Prefetch = 7, AckTimeout = 9000, MaxAttempts = 4 }
            : new SubscribeMessage(id, ChannelPattern.Parse(pattern), mode);

    private static CellRecord WithSubs(Thid id, long counter, params SubscribeMessage[] subs) => Up(id, "x", counter, v: 1) with { Subscriptions = subs };

    private static Routing.RoutePlan Plan(Routing.RouteTable routes, string channel) => routes.Find(System.Text.Encoding.ASCII.GetBytes(channel), out _)!;

    private static CellVersion V(long counter) => new(Inc, counter);

    private static CellProfile Profile(Thid id, string service, int v) => new(id, service) { Metadata = new JObject { ["v"] = v } };

    private static CellRecord Up(Thid id, string service, long counter, int v) => CellRecord.Of(Profile(id, service, v), V(counter));

    private void Run(TimeSpan duration)
    {
        for (var t = TimeSpan.Zero; t < duration; t += TimeSpan.FromMilliseconds(100))
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            _clock.Advance();
            _replica.Tick();
        }
    }
}
