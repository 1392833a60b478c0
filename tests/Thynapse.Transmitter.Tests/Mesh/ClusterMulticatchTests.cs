namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// Cluster multicatch between in-process transmitters on loopback, with real cells (PROTOCOL.md §12.11): the ingress
/// forwards each event once to every peer with interest, on that peer's forward stream, and each peer delivers it to its
/// own cells, in order; a gap in a forward stream is repaired by a resend, and a loss past the retransmit buffer is
/// counted, never silent.
/// </summary>
[TestClass]
public sealed class ClusterMulticatchTests : TestBase
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task EventsPublishedOnA_ReachEveryMulticatchCellOnABAndC_OnceAndInOrder_ForwardedOncePerPeer()
    {
        const int events = 3000;
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("cluster") + ".tick";
        await using var catchers = await Catchers.StartAsync([mesh.A, mesh.B, mesh.C, mesh.C], channel, Ct);
        await mesh.InterestReachedAsync(channel, remoteCells: 3, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);
        var forwardedBefore = mesh.A.Stats.MeshEventsForwarded;

        for (var i = 0; i < events - 1; i++)
        {
            publisher.Publish(channel, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var last = await publisher.PublishAsync(channel, (events - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken: Ct);
        Assert.AreEqual(4L, (long)last.Receivers, "ACPT counts the cells of every transmitter");
        await catchers.EachGotInOrderAsync(events, Ct);
        Assert.AreEqual(2L * events, mesh.A.Stats.MeshEventsForwarded - forwardedBefore, "one copy per event per peer (C serves two of the cells)");
        Assert.AreEqual(0L, mesh.B.Stats.MeshForwardsLost + mesh.C.Stats.MeshForwardsLost, "forwarded messages lost");
        Assert.AreEqual(0L, mesh.A.Stats.MeshForwardsResent, "the links stood through the refutations: nothing on them to resend");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task DroppedForwardMessages_AreResent_AndEveryEventArrivesOnceInOrder()
    {
        const int events = 2000;
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("repair") + ".tick";
        await using var catchers = await Catchers.StartAsync([mesh.B, mesh.C], channel, Ct);
        await mesh.InterestReachedAsync(channel, remoteCells: 2, Ct);
        // The test-only fault switch drops every third fresh FWRD to B, as PUB drops at its high-water mark: the
        // gaps are seen at the next message (or, for the last, by the next pulse) and asked for again.
        await mesh.A.InvokeAsync(_ => mesh.A.Mesh.Forwarder.DropForTest = (to, seq) => to == mesh.B.Id && seq % 3 == 0);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);

        for (var i = 0; i < events; i++)
        {
            publisher.Publish(channel, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (i % 100 == 99)
            {
                await publisher.PublishAsync(channel + "x", "a pause, so that the events spread over many messages", cancellationToken: Ct);
            }
        }

        await catchers.EachGotInOrderAsync(events, Ct);
        TestContext.WriteLine($"a resent {mesh.A.Stats.MeshForwardsResent} forward messages; b lost {mesh.B.Stats.MeshForwardsLost}");
        Assert.IsGreaterThan(0L, mesh.A.Stats.MeshForwardsResent, "messages resent on b's RSND");
        Assert.AreEqual(0L, mesh.B.Stats.MeshForwardsLost, "nothing lost: every gap was within the retransmit buffer");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task TheIngresssRefutations_WhileEventsFlow_LoseNone_AndEveryEventArrivesOnceInOrder()
    {
        // A refutation is the same process at a higher incarnation (its records say the run it started at): B and C keep
        // their links to A, and nothing on them is lost. (When they relinked, as for a restart, what was on the old link
        // was lost and resent, and before the resends carried A's new incarnation they were ignored, and lost.)
        const int events = 3000, refutations = 10;
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("refuted") + ".tick";
        await using var catchers = await Catchers.StartAsync([mesh.B, mesh.C], channel, Ct);
        await mesh.InterestReachedAsync(channel, remoteCells: 2, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);

        for (var i = 0; i < events; i++)
        {
            publisher.Publish(channel, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (i % (events / refutations) == 0)
            {
                await LoopbackMesh.AccuseAsync(mesh.A, by: mesh.B);
            }
        }

        await catchers.EachGotInOrderAsync(events, Ct);
        Assert.AreEqual(refutations, mesh.A.Stats.MeshRefutations, "a refuted each accusation");
        Assert.AreEqual(0L, mesh.B.Stats.MeshForwardsLost + mesh.C.Stats.MeshForwardsLost, "forwarded messages lost");
        Assert.AreEqual(0L, mesh.A.Stats.MeshForwardsResent, "the links stood through the refutations: nothing on them to resend");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AGapPastTheRetransmitBuffer_IsCountedAsLost_AndTheEventsAfterItStillArriveInOrder()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true, tune: o => o with { Mesh = o.Mesh with { ForwardBufferBytes = 65_536 } });
        var channel = TestIds.Next("loss") + ".big";
        await using var catchers = await Catchers.StartAsync([mesh.B], channel, Ct);
        await mesh.InterestReachedAsync(channel, remoteCells: 1, Ct);
        await mesh.A.InvokeAsync(_ => mesh.A.Mesh.Forwarder.DropForTest = (to, seq) => seq is >= 2 and <= 30);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);
        var body = new string('x', 8000);

        // Each awaited event is a burst of its own, so a FWRD of its own: 29 of 8 kB are dropped, and only the last
        // seven or so (64 kB) are still held when the 31st shows the gap.
        for (var i = 0; i < 40; i++)
        {
            await publisher.PublishAsync(channel, $"{i} {body}", cancellationToken: Ct);
        }

        await Eventually.That("b counts what could not be resent", () => mesh.B.Stats.MeshForwardsLost > 0, cancellationToken: Ct);
        var lost = mesh.B.Stats.MeshForwardsLost;
        await catchers.Of(0).WaitForAsync(40 - (int)lost, "the cell on b", Ct);
        var got = catchers.Of(0).Events.Select(e => int.Parse(e.BodyAsString().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        TestContext.WriteLine($"b lost {lost} forward messages (a answered GONE for {mesh.A.Stats.MeshForwardsGone}, resent {mesh.A.Stats.MeshForwardsResent}); the cell got {got.Count}");
        Assert.AreEqual(mesh.A.Stats.MeshForwardsGone, lost, "what a said it no longer held is what b counts lost");
        CollectionAssert.AreEqual(got.Order().ToList(), got, "in order");
        Assert.AreEqual(got.Count, got.Distinct().Count(), "no duplicates");
        Assert.AreEqual(39, got[^1]);
        Assert.IsTrue(got.Contains(30), "the messages just before the gap's end were resent from the buffer");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task APeerThatStopsMidStream_DoesNotHoldUpTheOthers()
    {
        const int events = 2000;
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct, star: true);
        var channel = TestIds.Next("dead") + ".tick";
        await using var catchers = await Catchers.StartAsync([mesh.B, mesh.C], channel, Ct);
        await mesh.InterestReachedAsync(channel, remoteCells: 2, Ct);
        await using var publisher = await Cells.ConnectAsync(mesh.A, "publisher", Ct);

        for (var i = 0; i < events; i++)
        {
            publisher.Publish(channel, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (i == events / 4)
            {
                // C stops reading its forward stream (all of a's messages to it are lost from here) and then stops.
                await mesh.A.InvokeAsync(_ => mesh.A.Mesh.Forwarder.DropForTest = (to, _) => to == mesh.C.Id);
            }

            if (i == events / 2)
            {
                await mesh.C.StopAsync();
            }
        }

        await catchers.Of(0).WaitForAsync(events, "the cell on b", Ct);
        Catchers.AssertInOrder(catchers.Of(0), events, "the cell on b");
    }

    /// <summary>A multicatch cell per transmitter given, each collecting what it gets.</summary>
    private sealed class Catchers : IAsyncDisposable
    {
        private readonly List<(Cell.Cell Cell, Catcher Caught, string Name)> _all = [];

        public static async Task<Catchers> StartAsync(Transmitter[] on, string channel, CancellationToken ct)
        {
            var catchers = new Catchers();
            for (var i = 0; i < on.Length; i++)
            {
                var cell = await Cells.ConnectAsync(on[i], TestIds.Next("catcher"), ct);
                catchers._all.Add((cell, await Catcher.SubscribeAsync(cell, channel, Catch.Multi, ct), $"catcher {i} on {on[i].Id}"));
            }

            return catchers;
        }

        public Catcher Of(int index) => _all[index].Caught;

        public async Task EachGotInOrderAsync(int events, CancellationToken ct)
        {
            foreach (var (_, caught, name) in _all)
            {
                await caught.WaitForAsync(events, name, ct);
            }

            foreach (var (_, caught, name) in _all)
            {
                AssertInOrder(caught, events, name);
            }
        }

        public static void AssertInOrder(Catcher caught, int events, string name)
        {
            var bodies = caught.Events.Select(e => int.Parse(e.BodyAsString(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            CollectionAssert.AreEqual(Enumerable.Range(0, events).ToList(), bodies, $"{name}: every event once, in order");
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var (cell, caught, _) in _all)
            {
                await caught.DisposeAsync();
                await cell.DisposeAsync();
            }
        }
    }
}
