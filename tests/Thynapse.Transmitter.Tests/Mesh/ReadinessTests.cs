namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The readiness gate (PROTOCOL.md §12.8, "Readiness"): a transmitter given seeds welcomes no cell until it holds the
/// cell directory of the mesh, so that the first event published through it reaches the mesh's cells (nats-server#439
/// lost those); a mesh that cannot be reached keeps it closed only for <see cref="MeshOptions.ReadinessTimeout"/>.
/// </summary>
[TestClass]
public sealed class ReadinessTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task JoiningTransmitter_WelcomesCellsOnlyWithTheMeshsDirectory_SoTheFirstPublishReachesRemoteCells()
    {
        await using var a = Transmitters.StartLoopback();
        var channel = TestIds.Next("first");
        await using var catcher = await Cells.ConnectAsync(a, TestIds.Next("catcher"), Ct);
        await using var caught = await Catcher.SubscribeAsync(catcher, channel, Catch.Multi, Ct);

        // b starts and a cell connects to it at once: the cell is welcomed only once b holds a's cells, so its very
        // first publish counts a's subscriber and reaches it.
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint], Mesh = o.Mesh with { ReadinessTimeout = TimeSpan.FromSeconds(20) } });
        await using var publisher = await Cells.ConnectAsync(b, TestIds.Next("early"), Ct);
        Assert.IsTrue(b.IsReady);
        var result = await publisher.PublishAsync(channel, "first", cancellationToken: Ct);
        Assert.AreEqual(1, result.Receivers, "the first publish through a joining transmitter counts the mesh's subscriber");
        await caught.WaitForAsync(1, "the first event, across the mesh", Ct);
        TestContext.WriteLine($"b refused {b.Stats.CellsNotReady} HELOs while it joined");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task UnreachableSeeds_RefuseCellsWithNotReady_ThenServeAloneAfterTheTimeout()
    {
        string dead;
        await using (var gone = Transmitters.StartLoopback())
        {
            dead = gone.CommandEndpoint;
        }

        var timeout = TimeSpan.FromSeconds(3);
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var lonely = Transmitters.StartLoopback(o => o with { Peers = [dead], Mesh = o.Mesh with { ReadinessTimeout = timeout } });
        using var early = new RawClient(lonely.CommandEndpoint);
        early.SendJson("HELO", new Newtonsoft.Json.Linq.JObject { ["id"] = early.Id.ToString(), ["service"] = "early" });
        var refusal = early.ExpectError(ThynapseErrorCode.NotReady);
        if (started.Elapsed < timeout)
        {
            StringAssert.Contains((string?)refusal["message"], "has not yet heard from a seed");
        }

        Assert.IsGreaterThanOrEqualTo(1L, lonely.Stats.CellsNotReady);
        await Eventually.That("the gate opens after the readiness timeout", () => lonely.IsReady, TimeSpan.FromSeconds(10), Ct);
        Assert.IsGreaterThanOrEqualTo(timeout - TimeSpan.FromMilliseconds(50), started.Elapsed, "not before the timeout: no seed answered");
        using var later = new RawClient(lonely.CommandEndpoint);
        later.Hello("later");
    }

    [TestMethod]
    public async Task WithoutSeeds_ATransmitterIsReadyAtOnce()
    {
        await using var alone = Transmitters.StartLoopback();
        Assert.IsTrue(alone.IsReady);
    }
}
