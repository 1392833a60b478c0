namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The replicated cell directory across a whole mesh on a fake clock (<see cref="SimulatedMesh"/>, PROTOCOL.md §12.8):
/// deltas reach every member, lost ones are repaired by the snapshot a gap asks for, a joining member gets the cells that
/// were there before it, and a dead or restarted owner's cells leave every replica.
/// </summary>
[TestClass]
public sealed class SimulatedCellDirectoryTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [TestMethod]
    public void CellOfA_ReachesBAndC_ThroughItsChangeAndLeave()
    {
        var (mesh, a, b, c) = ThreeJoined();
        var x = Thid.NewRandom();

        a.Cells.LocalChanged(Profile(x, "x", 1));
        mesh.Deliver();
        Assert.AreEqual(a.Id, b.Cells.Cells.Single().Transmitter);
        Assert.AreEqual(1, (int)c.Cells.Cells.Single().Metadata["v"]!);

        a.Cells.LocalChanged(Profile(x, "x", 2));
        mesh.Deliver();
        Assert.AreEqual(2, (int)c.Cells.Cells.Single().Metadata["v"]!);

        a.Cells.LocalDown(x);
        mesh.Deliver();
        Assert.AreEqual(0, b.Cells.Count + c.Cells.Count);
        Assert.AreEqual(1, c.Cells.Tombstones);
        Assert.AreEqual(0, a.Cells.Count, "its own cells are not in its replica");
    }

    [TestMethod]
    public void LostRecords_AreRepairedByTheSnapshotTheGapAsksFor()
    {
        var (mesh, a, _, c) = ThreeJoined();
        Thid x = Thid.NewRandom(), y = Thid.NewRandom();
        a.Cells.LocalChanged(Profile(x, "x", 1));
        mesh.Deliver();

        c.LoseCellRecords = true;
        a.Cells.LocalChanged(Profile(y, "y", 1));
        a.Cells.LocalDown(x);
        mesh.Deliver();
        Assert.AreEqual("x", c.Cells.Cells.Single().Service, "c missed both");

        c.LoseCellRecords = false;
        c.RepairGap(a);
        mesh.Deliver();

        Assert.AreEqual("y", c.Cells.Cells.Single().Service);
    }

    [TestMethod]
    public void JoiningMember_GetsTheCellsThatWereThereBefore()
    {
        var mesh = new SimulatedMesh();
        var a = mesh.Add("a");
        var b = mesh.Add("b", a);
        a.Cells.LocalChanged(Profile(Thid.NewRandom(), "early", 1));
        Assert.IsTrue(mesh.Run(Second, () => b.Cells.Count == 1), "b joined a, and got its cell in the answer");

        var c = mesh.Add("c", b);

        Assert.IsTrue(mesh.Run(Second, () => c.Cells.Count == 1), "c learned a from b, linked it, and got a's cells from a's answer");
        Assert.AreEqual(a.Id, c.Cells.Cells.Single().Transmitter);
    }

    [TestMethod]
    public void OwnerKilled_ItsCellsStayWhileSuspect_AndLeaveEveryReplicaWhenDeclaredDead()
    {
        var (mesh, a, b, c) = ThreeJoined();
        a.Cells.LocalChanged(Profile(Thid.NewRandom(), "x", 1));
        a.Cells.LocalChanged(Profile(Thid.NewRandom(), "y", 1));
        mesh.Deliver();
        Assert.AreEqual(2, b.Cells.Count);

        a.Kill();
        Assert.IsTrue(mesh.Run(4 * Second, () => b.StateOf(a) == PeerState.Suspect), "b suspects a");
        Assert.AreEqual(2, b.Cells.Count, "a suspect owner still serves (it may refute)");
        var died = mesh.Run(4 * Second, () => b.StateOf(a) == PeerState.Dead && c.StateOf(a) == PeerState.Dead);

        Assert.IsTrue(died, "both declare a dead within 4 s");
        Assert.AreEqual(0, b.Cells.Count + c.Cells.Count, "its cells went with it");
    }

    [TestMethod]
    public void OwnerRestarted_TheNewProcessesCellsReplaceTheOldOnes()
    {
        var (mesh, a, b, _) = ThreeJoined();
        a.Cells.LocalChanged(Profile(Thid.NewRandom(), "old", 1));
        mesh.Deliver();
        Assert.AreEqual(1, b.Cells.Count);

        a.Kill();
        mesh.Time.Advance(TimeSpan.FromMilliseconds(5)); // a later start: a higher incarnation
        var restarted = mesh.Add("a", a.Id, b);
        restarted.Cells.LocalChanged(Profile(Thid.NewRandom(), "new", 1));

        Assert.IsTrue(mesh.Run(2 * Second, () => b.Cells.Cells.Select(cell => cell.Service).SequenceEqual(["new"])), "b holds the new process's cell only");
        Assert.AreNotEqual(a.Membership.Incarnation, restarted.Membership.Incarnation);
    }

    private static (SimulatedMesh Mesh, SimulatedMesh.Node A, SimulatedMesh.Node B, SimulatedMesh.Node C) ThreeJoined()
    {
        var mesh = new SimulatedMesh();
        var (a, b, c) = mesh.JoinThree();
        mesh.Run(Second); // links settled
        return (mesh, a, b, c);
    }

    private static CellProfile Profile(Thid id, string service, int v) => new(id, service) { Metadata = new JObject { ["v"] = v } };
}
