using System.Text.RegularExpressions;

namespace Thynapse.Fault.Tests;

/// <summary>Reliable anycatch across a worker's death: nothing lost, duplicates bounded by its prefetch.</summary>
[TestClass]
public sealed partial class WorkerDeathTests : TestBase
{
    [TestMethod]
    [Timeout(120_000)]
    public async Task KilledWorker_LosesNothingAndDuplicatesAtMostItsPrefetch()
    {
        const int events = 10_000, prefetch = 16;
        await using var transmitter = Transmitters.StartLoopback(o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(250), LivenessTimeout = TimeSpan.FromSeconds(2) });
        var service = TestIds.Next("workers");
        var workers = new List<ChildProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                workers.Add(ChildProcess.StartDotnet("Thynapse.TestCell.dll", transmitter.CommandEndpoint, service, "jobs.>", "work", $"{prefetch}"));
            }

            foreach (var worker in workers)
            {
                await worker.WaitForLineAsync("ready", cancellationToken: Ct);
            }

            await using var producer = await Cells.ConnectAsync(transmitter, "producer", Ct);
            var completions = new List<Task<PublishResult>>(events);
            var victim = workers[0];
            var killedAfter = -1;

            // The victim dies mid-stream: while work is still being published, and while it holds deliveries (its
            // share of the first 2,000 is some 660 events, of which it has handled only 100).
            for (var i = 0; i < events; i++)
            {
                completions.Add(producer.PublishAsync("jobs.render", $"{i}", new PublishOptions { Await = PublishAwait.Completion }, Ct));
                if (killedAfter < 0 && i == 1_999)
                {
                    await Eventually.That("the victim has handled some work", () => Handled(victim).Count >= 100, cancellationToken: Ct);
                    victim.Signal(ChildProcess.SigKill);
                    killedAfter = i + 1;
                }
            }

            var results = await Task.WhenAll(completions).Within("every publish to complete", TimeSpan.FromSeconds(90));

            var perWorker = workers.Select(Handled).ToList();
            var all = perWorker.SelectMany(h => h).ToList();
            var distinct = all.Distinct().Count();
            var duplicates = all.Count - distinct;
            TestContext.WriteLine(
                $"{events} events, victim killed after {killedAfter} publishes; handled per worker: {string.Join(", ", perWorker.Select(h => h.Count))}; " +
                $"distinct {distinct}, duplicates {duplicates} (prefetch {prefetch}); transmitter: {transmitter.Stats.Redeliveries} redeliveries, " +
                $"{transmitter.Stats.Acks} acks, {transmitter.Stats.LateAcks} late acks");

            Assert.IsGreaterThan(0, killedAfter, "the victim was killed");
            Assert.IsGreaterThan(0L, transmitter.Stats.Redeliveries, "the victim died holding deliveries, which went to the others");
            Assert.IsTrue(results.All(r => r.Status == PublishStatus.Completed), "every event completed");
            Assert.AreEqual(events, distinct, "every event was handled at least once");
            Assert.IsLessThanOrEqualTo(prefetch, duplicates, "duplicates are at most what the killed worker could hold");
            Assert.IsTrue(perWorker.Skip(1).All(h => h.Count > 0), "the surviving workers shared the work");
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }
    }

    private static List<string> Handled(ChildProcess worker) =>
        [.. worker.Lines.Select(l => HandledLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value)];

    [GeneratedRegex(@"^handled (\w+ \d+)$")]
    private static partial Regex HandledLine();
}
