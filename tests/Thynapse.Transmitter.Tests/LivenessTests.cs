namespace Thynapse.Transmitter.Tests;

/// <summary>Silent cells are dropped after the liveness timeout; cells that beat are kept.</summary>
[TestClass]
public sealed class LivenessTests : TestBase
{
    // Short enough to keep the tests quick, long enough that a loaded CI machine does not stall a beating test past it.
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(2);

    [TestMethod]
    [Timeout(20_000)]
    public async Task SilentCell_IsDroppedWithItsSubscriptions()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(200), LivenessTimeout = Liveness });
        using var silent = RawClient.Subscribed(transmitter.CommandEndpoint, "silent", "silent.>");
        var joinedAt = DateTime.UtcNow;

        await Eventually.That("the silent cell expires", () => transmitter.Stats.CellsExpired == 1, TimeSpan.FromSeconds(5), Ct);

        var after = DateTime.UtcNow - joinedAt;
        TestContext.WriteLine($"expired {after.TotalMilliseconds:0} ms after joining (liveness {Liveness.TotalMilliseconds} ms)");
        Assert.IsGreaterThanOrEqualTo(Liveness, after, "not before the liveness timeout");
        Assert.AreEqual(0, transmitter.Stats.Subscriptions);
        silent.Send("J BEAT");
        silent.ExpectError(ThynapseErrorCode.NotWelcomed);
    }

    [TestMethod]
    [Timeout(20_000)]
    public async Task BeatingCell_IsKeptPastTheLivenessTimeout()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(200), LivenessTimeout = Liveness });
        using var beating = RawClient.Welcomed(transmitter.CommandEndpoint, "beating");
        using var silent = RawClient.Welcomed(transmitter.CommandEndpoint, "silent");

        // Keep beating until the silent one, which joined after us, has expired: we outlived a full timeout.
        while (transmitter.Stats.CellsExpired == 0)
        {
            Ct.ThrowIfCancellationRequested();
            beating.Send("J BEAT");
            Assert.AreEqual("BEAT", beating.ReceiveJson("BEAT").Command);
            await Task.Delay(100, Ct); // allowed: the heartbeat period itself, not a wait for a condition
        }

        beating.Send("J BEAT");
        Assert.AreEqual("BEAT", beating.ReceiveJson("BEAT from a cell that kept beating").Command);
        Assert.AreEqual(1, transmitter.Stats.Cells);
    }
}
