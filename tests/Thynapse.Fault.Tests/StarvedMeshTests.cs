using System.Globalization;

namespace Thynapse.Fault.Tests;

/// <summary>
/// Lifeguard under CPU starvation (issue 17's soak): five transmitters, one of them a process in a cgroup that lets it
/// and a busy loop beside it use a fifth of one CPU between them, with background traffic through every transmitter.
/// Nobody may be declared dead: not the four healthy ones (a starved prober that cannot read its answers in time must
/// doubt itself, not them) and not the starved one (it is slow, not gone). Runs 20 s in the suite;
/// <c>bench/tools/mesh-soak.sh</c> runs it for 10 minutes (<c>THYNAPSE_SOAK_SECONDS</c>).
/// </summary>
[TestClass]
public sealed class StarvedMeshTests : TestBase
{
    [TestMethod]
    [Timeout(900_000)]
    public async Task StarvedMember_WithTraffic_NoFalseDeaths()
    {
        if (CpuLimit.Unavailable() is { } reason)
        {
            Assert.Inconclusive($"This test starves a transmitter of CPU with a cgroup: {reason}.");
        }

        var seconds = int.TryParse(Environment.GetEnvironmentVariable("THYNAPSE_SOAK_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 20;
        await using var a = Transmitters.StartLoopback();
        await using var b = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await using var c = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        await using var d = Transmitters.StartLoopback(o => o with { Peers = [a.CommandEndpoint] });
        using var starved = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", a.CommandEndpoint]);
        Thynapse.Transmitter.Transmitter[] healthy = [a, b, c, d];
        await Eventually.That("all five are members of each other", () => healthy.All(t => t.Peers.Count(p => p.State == PeerState.Alive) == 4), TimeSpan.FromSeconds(20), Ct);

        using var limit = CpuLimit.Create(0.2);
        limit.Add(starved.Process.Id);
        limit.AddBusyLoop();

        // Background traffic: on each transmitter a publisher and a multicatch subscriber, 200 events a second each.
        string[] endpoints = [.. healthy.Select(t => t.CommandEndpoint), starved.CommandEndpoint];
        var cells = new List<Thynapse.Cell.Cell>();
        var caught = new long[endpoints.Length];
        var published = new long[endpoints.Length];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var publishers = new List<Task>();
        try
        {
            for (var i = 0; i < endpoints.Length; i++)
            {
                var receiver = await Cells.ConnectAsync(endpoints[i], "soak-receiver", o => o with { ConnectTimeout = TimeSpan.FromSeconds(30) }, Ct);
                var publisher = await Cells.ConnectAsync(endpoints[i], "soak-publisher", o => o with { ConnectTimeout = TimeSpan.FromSeconds(30) }, Ct);
                cells.Add(receiver);
                cells.Add(publisher);
                var index = i;
                var subscription = await receiver.SubscribeAsync($"soak.t{i}", Catch.Multi, Ct);
                subscription.Subscribe(_ => Interlocked.Increment(ref caught[index]));
                publishers.Add(Publish(publisher, $"soak.t{i}", () => Interlocked.Increment(ref published[index]), stop.Token));
            }

            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), Ct); // allowed: the soak's length is what is under test
                var deaths = healthy.Sum(t => t.Stats.PeerDeaths);
                Assert.AreEqual(0L, deaths, $"a death was declared {watch.Elapsed.TotalSeconds:0} s into the soak: {Views(healthy)}\nstarved one's log:\n{string.Join("\n", starved.Process.Lines.TakeLast(40))}");
            }

            await stop.CancelAsync();
            await Task.WhenAll(publishers);
            var suspicions = healthy.Sum(t => t.Stats.PeerSuspicions);
            var refutations = healthy.Sum(t => t.Stats.MeshRefutations);
            var starvedDeclared = starved.Process.Lines.Count(l => l.Contains("declared dead by this transmitter", StringComparison.Ordinal));
            TestContext.WriteLine($"{seconds} s, one transmitter in a 20% CPU cgroup with a busy loop: 0 deaths declared by the healthy four; " +
                $"suspicions {suspicions}, refutations seen {refutations}; the starved one declared {starvedDeclared}; " +
                $"events published/caught per transmitter: {string.Join(", ", published.Zip(caught).Select(p => $"{p.First}/{p.Second}"))}");
            Assert.AreEqual(0, starvedDeclared, $"the starved transmitter declared a healthy one dead:\n{string.Join("\n", starved.Process.Lines.Where(l => l.Contains("dead", StringComparison.Ordinal)))}");
            Assert.IsTrue(published.All(p => p > 0) && caught.All(n => n > 0), "traffic flowed through every transmitter, the starved one too");
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var cell in cells)
            {
                await cell.DisposeAsync();
            }
        }
    }

    private static async Task Publish(Thynapse.Cell.Cell publisher, string channel, Action published, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await publisher.PublishAsync(channel, "{}", cancellationToken: stop);
                published();
                await Task.Delay(5, stop); // allowed: the background traffic's pace
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Views(IEnumerable<Thynapse.Transmitter.Transmitter> transmitters) =>
        string.Join("; ", transmitters.Select(t => $"{t.Id}: {string.Join(", ", t.Peers.Select(p => $"{p.Id} {p.State}"))}"));
}
