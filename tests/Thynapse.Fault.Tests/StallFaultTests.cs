using System.Text.RegularExpressions;

namespace Thynapse.Fault.Tests;

/// <summary>Processes frozen with SIGSTOP: the transmitter (issue 15, finding 7) and a catching cell (finding 13).</summary>
[TestClass]
public sealed partial class StallFaultTests : TestBase
{
    /// <summary>
    /// Finding 7: the transmitter process is frozen for 1.3 s with a 1 s liveness timeout while its cells keep beating.
    /// When it runs again their beats wait unread in its sockets; it must read them rather than expire every cell for
    /// its own silence. Raw clients beat throughout and never give up on the transmitter, as in the report.
    /// </summary>
    [TestMethod]
    [Timeout(60_000)]
    public async Task FrozenTransmitter_ExpiresNoCellThatKeptBeating()
    {
        using var transmitter = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--heartbeat-ms", "200", "--liveness-ms", "1000"]);
        var cells = Enumerable.Range(0, 5).Select(_ => new RawClient(transmitter.CommandEndpoint)).ToList();
        try
        {
            foreach (var cell in cells)
            {
                cell.Hello(TestIds.Next("beating"));
            }

            using var beating = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var beats = Task.Run(async () =>
            {
                while (!beating.IsCancellationRequested)
                {
                    foreach (var cell in cells)
                    {
                        cell.Send("J BEAT");
                    }

                    await Task.Delay(100, CancellationToken.None); // allowed: the heartbeat period of the cells
                }
            }, CancellationToken.None);

            await Task.Delay(500, Ct); // allowed: a few beats before the fault, the steady state it interrupts
            transmitter.Process.Signal(ChildProcess.SigStop);
            await Task.Delay(1300, Ct); // allowed: the length of the freeze is the fault under test
            transmitter.Process.Signal(ChildProcess.SigCont);
            await Task.Delay(1500, Ct); // allowed: more than a liveness timeout of beats after the freeze, for a wrong verdict to show
            await beating.CancelAsync();
            await beats;

            var expired = transmitter.Process.Lines.Where(l => l.Contains("was silent", StringComparison.Ordinal)).ToList();
            TestContext.WriteLine(string.Join('\n', transmitter.Process.Lines.Where(l => l.Contains("did not run", StringComparison.Ordinal))));
            Assert.IsEmpty(expired, "no beating cell was expired for the transmitter's own freeze:\n" + string.Join('\n', expired));
            Assert.IsTrue(transmitter.Process.Lines.Any(l => l.Contains("did not run for", StringComparison.Ordinal)), "the transmitter saw its own stall");
            // A last beat from each (so that checking takes no cell past the liveness timeout), then everything the
            // transmitter answered: BEATs only, never NOT_WELCOMED.
            foreach (var cell in cells)
            {
                cell.Send("J BEAT");
            }

            foreach (var cell in cells)
            {
                var answers = 0;
                while (cell.TryReceive(TimeSpan.FromMilliseconds(100), out var frames))
                {
                    var header = System.Text.Encoding.UTF8.GetString(frames[0]);
                    Assert.StartsWith("J BEAT", header, "the cell kept its session throughout");
                    answers++;
                }

                Assert.IsGreaterThan(20, answers, "its beats were answered");
            }
        }
        finally
        {
            foreach (var cell in cells)
            {
                cell.Dispose();
            }
        }
    }

    /// <summary>
    /// Finding 13: a multicatch cell frozen for 3 s (liveness 1 s) is expired; events go on being published. When it runs
    /// again it re-joins and is told how many it missed, and what it caught plus what it was told it missed is every
    /// event published, exactly.
    /// </summary>
    [TestMethod]
    [Timeout(90_000)]
    public async Task FrozenCell_IsToldOnRejoiningExactlyWhatItMissed()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(250), LivenessTimeout = TimeSpan.FromSeconds(1) });
        var channel = TestIds.Next("audit") + ".entry";
        using var frozen = ChildProcess.StartDotnet("Thynapse.TestCell.dll", transmitter.CommandEndpoint, TestIds.Next("auditors"), channel, "multi");
        await frozen.WaitForLineAsync("ready", cancellationToken: Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, TestIds.Next("ledger"), Ct);
        var published = 0;
        var lastTallied = 0UL;

        async Task PublishAsync(int count)
        {
            for (var i = 0; i < count - 1; i++)
            {
                publisher.Publish(channel, new byte[200]);
            }

            lastTallied = (await publisher.PublishAsync(channel, new byte[200], cancellationToken: Ct)).Sequence;
            published += count;
        }

        await PublishAsync(2000);
        await Eventually.That("the cell caught the first events", () => Caught(frozen).Count == 2000, TimeSpan.FromSeconds(20), Ct);

        frozen.Signal(ChildProcess.SigStop);
        await PublishAsync(5000);
        await Eventually.That("the frozen cell expires", () => transmitter.Stats.CellsExpired == 1, TimeSpan.FromSeconds(10), Ct);
        await PublishAsync(5000);
        frozen.Signal(ChildProcess.SigCont);
        await frozen.WaitForLineAsync("notice Reconnected", TimeSpan.FromSeconds(20), Ct);
        await Eventually.That("the re-joined cell catches again", async () =>
            (await publisher.PublishAsync(channel, new byte[200], cancellationToken: Ct)).Receivers == 1, cancellationToken: Ct);
        // The probes above are not in the tally: they come after the last tallied event.
        var missed = MissedCounts(frozen);
        var caught = Caught(frozen).Where(seq => seq <= lastTallied).ToHashSet();
        TestContext.WriteLine($"published {published} (and probes); caught {caught.Count}; told missed {string.Join(" + ", missed)} = {missed.Sum()}; " +
            $"transmitter: {transmitter.Stats.DeliveriesDropped} dropped, {transmitter.Stats.MissedWhileAway} missed while away");
        Assert.IsTrue(frozen.Lines.Any(l => l.StartsWith("notice MissedEvents", StringComparison.Ordinal) && l.Contains("ended this cell's session", StringComparison.Ordinal)),
            "the re-joined cell was told that its session had ended and what it missed:\n" + string.Join('\n', frozen.Lines.Where(l => l.StartsWith("notice", StringComparison.Ordinal))));
        Assert.IsGreaterThan(0L, transmitter.Stats.MissedWhileAway, "events were published while it was away");
        Assert.AreEqual((long)published, caught.Count + missed.Sum(), "caught plus told missed is every event published");
    }

    private static List<ulong> Caught(ChildProcess cell) =>
        [.. cell.Lines.Select(l => CaughtLine().Match(l)).Where(m => m.Success).Select(m => ulong.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];

    private static List<long> MissedCounts(ChildProcess cell) =>
        [.. cell.Lines.Select(l => MissedLine().Match(l)).Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];

    [GeneratedRegex(@"^caught (\d+) ")]
    private static partial Regex CaughtLine();

    [GeneratedRegex(@"^notice MissedEvents (\d+) ")]
    private static partial Regex MissedLine();
}
