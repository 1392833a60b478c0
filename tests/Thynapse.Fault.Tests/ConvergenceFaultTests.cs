using Newtonsoft.Json.Linq;

namespace Thynapse.Fault.Tests;

/// <summary>
/// Issue 17's convergence figures with real transmitter processes (PROTOCOL.md §12.8, "Measured"): a mesh of N
/// <c>thynapse-transmitter</c> processes is grown one at a time from a seed, then its newest member leaves (SIGTERM) and
/// a new one joins, a few times; each join is timed from the new process's ready line until a cell on every other member
/// lists it among its transmitters (<c>TMTR</c>, §5.19). Then a cell joins the first member, changes its <c>META</c> 20
/// times and leaves, and each change is timed until a <c>WTCH</c> on every other member has it. The suite runs N = 3 with
/// 2 rejoins and holds the medians to a second; <c>bench/tools/converge.sh</c> runs 3 and 8 with more rejoins and holds
/// the 99th percentiles to it (THYNAPSE_CONVERGE_SIZES, THYNAPSE_CONVERGE_REJOINS, THYNAPSE_CONVERGE_P99).
/// </summary>
[TestClass]
public sealed class ConvergenceFaultTests : TestBase
{
    [TestMethod]
    [Timeout(900_000)]
    public async Task TransmitterProcesses_AJoinAndEachDirectoryChange_ReachEveryOtherMemberWithinASecond()
    {
        var sizes = (Environment.GetEnvironmentVariable("THYNAPSE_CONVERGE_SIZES") ?? "3").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(int.Parse);
        var rejoins = int.TryParse(Environment.GetEnvironmentVariable("THYNAPSE_CONVERGE_REJOINS"), out var r) && r >= 0 ? r : 2;
        foreach (var size in sizes)
        {
            await MeasureAsync(size, rejoins, Ct);
        }
    }

    private async Task MeasureAsync(int size, int rejoins, CancellationToken ct)
    {
        var members = new List<Member>();
        var joins = new List<double>();
        var fromLaunch = new List<double>();
        try
        {
            for (var i = 0; i < size; i++)
            {
                members.Add(await JoinAsync(members, joins, fromLaunch, ct));
            }

            for (var round = 0; round < rejoins; round++)
            {
                var leaving = members[^1];
                members.RemoveAt(members.Count - 1);
                await leaving.LeaveAsync(ct);
                members.Add(await JoinAsync(members, joins, fromLaunch, ct));
            }

            var changes = DirectoryChanges(members);
            TestContext.WriteLine($"{size} transmitter processes, {joins.Count} joins, from the new one's ready line until every other member's cell lists it: {Summary(joins)} " +
                $"(from its launch: {Summary(fromLaunch)})");
            TestContext.WriteLine($"{size} transmitter processes, {changes.Count} changes (a join, 20 META, a leave), until the last of {size - 1} watches has it: {Summary(changes)} " +
                $"(each: {string.Join(", ", changes.Select(t => $"{t:0}"))} ms)");
            // Issue 17's bound is on the 99th percentile; with ~25 samples that is the slowest one, which one stall of a
            // loaded machine decides. So the suite holds the median to the second, and the script (THYNAPSE_CONVERGE_P99=1,
            // more joins) the 99th percentile.
            var (q, name) = Environment.GetEnvironmentVariable("THYNAPSE_CONVERGE_P99") == "1" ? (0.99, "p99") : (0.5, "median");
            Assert.IsLessThan(1000, Percentile(joins, q), $"with {size} processes, membership after a join: {name} within a second (issue 17)");
            Assert.IsLessThan(1000, Percentile(changes, q), $"with {size} processes, directory convergence: {name} within a second (issue 17)");
        }
        finally
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
    }

    /// <summary>Starts a transmitter process (seeded by the first member), times until every member lists it, and connects its observer.</summary>
    private static async Task<Member> JoinAsync(List<Member> members, List<double> joins, List<double> fromLaunch, CancellationToken ct)
    {
        var id = Thid.NewRandom();
        string[] args = members.Count == 0 ? ["--id", id.ToString()] : ["--id", id.ToString(), "--peer", members[0].Process.CommandEndpoint];
        var launch = Stopwatch.StartNew();
        var process = await TransmitterProcess.StartAsync(cancellationToken: ct, extraArgs: args);
        var ready = launch.Elapsed;
        try
        {
            if (members.Count > 0)
            {
                await Eventually.That($"a cell on each of the {members.Count} other members lists {id} (TMTR)",
                    () => members.All(m => m.Observer.Transmitters.Any(t => t.Id == id)), TimeSpan.FromSeconds(20), ct);
                joins.Add((launch.Elapsed - ready).TotalMilliseconds);
                fromLaunch.Add(launch.Elapsed.TotalMilliseconds);
            }

            // The SDK retries NOT_READY while the new member's readiness gate is closed (§12.8).
            var observer = await Cells.ConnectAsync(process.CommandEndpoint, TestIds.Next("observer"), o => o, ct);
            return new Member(process, observer);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>A cell joins the first member, changes its META 20 times and leaves: each change timed until every other member's watch has it.</summary>
    private static List<double> DirectoryChanges(List<Member> members) =>
        TestKit.DirectoryChanges.Measure(members[0].Process.CommandEndpoint, members.Skip(1).Select(m => m.Process.CommandEndpoint), TestIds.Next("converge"));

    private static double Percentile(List<double> times, double q)
    {
        var sorted = times.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }

    private static string Summary(List<double> times) =>
        $"p50 {Percentile(times, 0.5):0.0} ms, p99 {Percentile(times, 0.99):0.0} ms, max {times.Max():0.0} ms";

    /// <summary>A member of the measured mesh: its process and a cell on it that observes the roster it is told.</summary>
    private sealed record Member(TransmitterProcess Process, Cell.Cell Observer) : IAsyncDisposable
    {
        /// <summary>Leaves gracefully: the observer first (so that it does not fail over), then the process by SIGTERM.</summary>
        public async Task LeaveAsync(CancellationToken ct)
        {
            await Observer.DisposeAsync();
            Process.Process.Signal(ChildProcess.SigTerm);
            await Process.Process.WaitForExitAsync(TimeSpan.FromSeconds(20), ct);
            Process.Dispose();
        }

        public async ValueTask DisposeAsync()
        {
            await Observer.DisposeAsync();
            Process.Dispose();
        }
    }
}
