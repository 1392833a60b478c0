namespace Thynapse.Fault.Tests;

/// <summary>
/// The mesh's failure detector against real transmitter processes (PROTOCOL.md §12.7): two in-process transmitters
/// watch a third, a <c>thynapse-transmitter</c> process, while it is killed with SIGKILL, restarted with the same THID,
/// or frozen with SIGSTOP. The times measured are printed; the bounds asserted are the mesh's promises.
/// </summary>
[TestClass]
public sealed class MeshFaultTests : TestBase
{
    [TestMethod]
    [Timeout(120_000)]
    public async Task Kill9_TheOthersDeclareItDeadWithinFourSeconds()
    {
        await using var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        var times = new List<double>();
        for (var kill = 0; kill < 3; kill++)
        {
            using var victim = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", b.CommandEndpoint]);
            var id = await IdOf(victim, Ct);
            await Eventually.That("the victim is a member of a and b", () => Holds(a, id, PeerState.Alive) && Holds(b, id, PeerState.Alive), TimeSpan.FromSeconds(20), Ct);
            await Task.Delay(500, Ct); // allowed: the steady state (pulses, probes) the kill interrupts

            var watch = Stopwatch.StartNew();
            victim.Process.Signal(ChildProcess.SigKill);
            await Eventually.That($"a and b declare {id} dead", () => Holds(a, id, PeerState.Dead) && Holds(b, id, PeerState.Dead), TimeSpan.FromSeconds(4), Ct);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        TestContext.WriteLine($"kill -9 to declared dead by both: {string.Join(", ", times.Select(t => $"{t:0} ms"))}; " +
            $"refutations by the observers {a.Stats.MeshRefutations + b.Stats.MeshRefutations} (a suspicion on a loaded machine, refuted, is SWIM working)");
        Assert.IsTrue(Holds(a, b.Id, PeerState.Alive) && Holds(b, a.Id, PeerState.Alive), "the observers hold each other alive");
        // No false death: each observer declared (or adopted) exactly the three victims' deaths, never the other's.
        Assert.AreEqual(3L, a.Stats.PeerDeaths, "a declared only the victims dead");
        Assert.AreEqual(3L, b.Stats.PeerDeaths, "b declared only the victims dead");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task Restart_WithTheSameThid_IsAliveAgainWithAHigherIncarnation()
    {
        await using var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        var id = Thid.NewRandom();
        string[] args = ["--peer", a.CommandEndpoint, "--id", id.ToString()];

        long first;
        using (var victim = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: args))
        {
            await Eventually.That("the victim joined", () => Holds(a, id, PeerState.Alive) && Holds(b, id, PeerState.Alive), TimeSpan.FromSeconds(20), Ct);
            first = a.Peers.Single(p => p.Id == id).Incarnation;
            victim.Process.Signal(ChildProcess.SigKill);
            await Eventually.That("it is declared dead", () => Holds(a, id, PeerState.Dead) && Holds(b, id, PeerState.Dead), TimeSpan.FromSeconds(4), Ct);
        }

        using var again = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: args);
        var watch = Stopwatch.StartNew();
        await Eventually.That("the restarted transmitter is alive again for both", () => Holds(a, id, PeerState.Alive) && Holds(b, id, PeerState.Alive), TimeSpan.FromSeconds(10), Ct);
        TestContext.WriteLine($"alive again {watch.ElapsedMilliseconds} ms after the restarted process began routing");

        var second = a.Peers.Single(p => p.Id == id);
        Assert.IsGreaterThan(first, second.Incarnation, "a restart is a new incarnation");
        Assert.AreEqual(second.Incarnation, b.Peers.Single(p => p.Id == id).Incarnation);
        Assert.AreEqual($"tcp://127.0.0.1:{again.CommandPort}", second.CommandEndpoint, "at its new endpoints");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task SigStop_ShorterThanTheSuspicionWindow_IsNeverDeclaredDead()
    {
        await using var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        using var frozen = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", a.CommandEndpoint]);
        var id = await IdOf(frozen, Ct);
        await Eventually.That("it joined", () => Holds(a, id, PeerState.Alive) && Holds(b, id, PeerState.Alive), TimeSpan.FromSeconds(20), Ct);

        var start = a.Peers.Single(p => p.Id == id).Incarnation;
        var suspected = 0;
        foreach (var pause in new[] { 500, 1000, 1500 })
        {
            await Task.Delay(1000, Ct); // allowed: a steady second between freezes
            var suspicionsBefore = a.Stats.PeerSuspicions;
            frozen.Process.Signal(ChildProcess.SigStop);
            await Task.Delay(pause, Ct); // allowed: the length of the freeze is the fault under test
            frozen.Process.Signal(ChildProcess.SigCont);
            await Eventually.That($"after a {pause} ms freeze it is alive for both", () => Holds(a, id, PeerState.Alive) && Holds(b, id, PeerState.Alive),
                TimeSpan.FromSeconds(5), Ct);
            suspected += a.Stats.PeerSuspicions > suspicionsBefore ? 1 : 0;
            Assert.AreEqual(0L, a.Stats.PeerDeaths + b.Stats.PeerDeaths, $"a freeze of {pause} ms, shorter than probe interval + suspicion (2 s), is no death");
        }

        TestContext.WriteLine($"freezes of 0.5, 1 and 1.5 s: {suspected} suspected then refuted, 0 declared dead; the frozen one's incarnation rose by {a.Peers.Single(p => p.Id == id).Incarnation - start} (one per refutation)");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task SigStop_LongerThanTheSuspicionWindow_IsDeclaredDead_AndRefutesWhenItRunsAgain()
    {
        await using var a = Transmitters.StartLoopback();
        using var frozen = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", a.CommandEndpoint]);
        var id = await IdOf(frozen, Ct);
        await Eventually.That("it joined", () => Holds(a, id, PeerState.Alive), TimeSpan.FromSeconds(20), Ct);
        var before = a.Peers.Single().Incarnation;

        frozen.Process.Signal(ChildProcess.SigStop);
        await Eventually.That("a frozen transmitter is declared dead", () => Holds(a, id, PeerState.Dead), TimeSpan.FromSeconds(5), Ct);
        frozen.Process.Signal(ChildProcess.SigCont);

        await Eventually.That("it is alive again", () => Holds(a, id, PeerState.Alive), TimeSpan.FromSeconds(10), Ct);
        Assert.IsGreaterThan(before, a.Peers.Single().Incarnation, "it refuted its death with a higher incarnation");
        await frozen.Process.WaitForLineAsync("Refuted being", cancellationToken: Ct);
    }

    private static bool Holds(Thynapse.Transmitter.Transmitter viewer, Thid id, PeerState state) => viewer.Peers.Any(p => p.Id == id && p.State == state);

    private static async Task<Thid> IdOf(TransmitterProcess process, CancellationToken ct)
    {
        var line = await process.Process.WaitForLineAsync("routing on", cancellationToken: ct);
        var start = line.IndexOf("Transmitter ", StringComparison.Ordinal) + "Transmitter ".Length;
        return Thid.Parse(line.AsSpan(start, Thid.HexLength));
    }
}
