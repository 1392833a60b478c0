namespace Thynapse.Fault.Tests;

/// <summary>
/// Issue 18, item 8: garbage frames, oversized frames and a storm of HELOs with a wrong secret, from a process of their
/// own, against a transmitter process with a secret, while a steady flow of 2,000 events a second runs between two
/// authenticated cells. 10 s here; <c>bench/tools/junk-flood.sh</c> runs it for 60 (<c>THYNAPSE_FLOOD_SECONDS</c>;
/// <c>THYNAPSE_JUNK_KINDS</c> picks among garbage, oversized and helo).
/// </summary>
/// <remarks>
/// The growth this test once showed (all three kinds together: RSS from 60 to 757 MiB in 60 s, and it stayed) was NetMQ
/// keeping the pipes, sessions and buffers of HELO-storm connections that ended before their identity was read: 7,950
/// sessions and 160 MiB of pipe chunks live after a 30 s flood (<c>dotnet-gcdump</c>). Wire/DeadPipeSweeper frees them.
/// Measured since on two shared cores, 60 s (<c>bench/tools/junk-flood.sh</c>): flow 1,992/s before, 2,003 during,
/// 2,121 after; RSS 60 MiB before, at most 145 during, 109 after and two seconds later; descriptors 131, at most 178, 133.
/// </remarks>
[TestClass]
public sealed class JunkFloodTests : TestBase
{
    private const string Secret = "junk-flood-secret-000001";

    private static TimeSpan FloodLength => TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("THYNAPSE_FLOOD_SECONDS"), out var seconds) ? seconds : 10);

    [TestMethod]
    [Timeout(600_000)]
    public async Task GarbageOversizedAndHeloStorms_DoNotStopTheFlow_NorLeakMemoryOrDescriptors()
    {
        using var transmitter = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--secret", Secret]);
        var channel = TestIds.Next("junk.steady");
        await using var receiver = await Cells.ConnectAsync(transmitter.CommandEndpoint, TestIds.Next("receiver"), o => o with { Secret = Secret }, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter.CommandEndpoint, TestIds.Next("publisher"), o => o with { Secret = Secret }, Ct);
        var caught = 0L;
        await using var subscription = await receiver.SubscribeAsync(channel, Catch.Multi, Ct);
        using var _ = subscription.Subscribe(_ => Interlocked.Increment(ref caught));
        using var steady = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var flow = SteadyFlow.Run(publisher, channel, steady.Token);

        async Task<double> RateOver(TimeSpan span)
        {
            var before = Interlocked.Read(ref caught);
            var clock = Stopwatch.StartNew();
            await Task.Delay(span, Ct); // allowed: a measuring window
            return (Interlocked.Read(ref caught) - before) / clock.Elapsed.TotalSeconds;
        }

        var pid = transmitter.Process.Id;
        await Eventually.That("the flow runs", () => Interlocked.Read(ref caught) > 1000, cancellationToken: Ct);
        var rateBefore = await RateOver(TimeSpan.FromSeconds(2));
        var (rssBefore, fdBefore) = Sample(pid);

        var junk = ChildProcess.StartDotnet("Thynapse.TestCell.dll", transmitter.CommandEndpoint, "junk",
            Environment.GetEnvironmentVariable("THYNAPSE_JUNK_KINDS") ?? "garbage,oversized,helo");
        double rateDuring;
        long rssDuringMax = 0;
        int fdDuringMax = 0;
        string junked;
        try
        {
            await junk.WaitForLineAsync("junking", cancellationToken: Ct);
            var caughtBefore = Interlocked.Read(ref caught);
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < FloodLength)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), Ct); // allowed: sampling the transmitter's RSS and descriptors
                var (rss, fd) = Sample(pid);
                rssDuringMax = Math.Max(rssDuringMax, rss);
                fdDuringMax = Math.Max(fdDuringMax, fd);
            }

            rateDuring = (Interlocked.Read(ref caught) - caughtBefore) / clock.Elapsed.TotalSeconds;
            junk.CloseInput();
            junked = await junk.WaitForLineAsync("junked", TimeSpan.FromSeconds(20), Ct);
        }
        finally
        {
            junk.Dispose();
        }

        // Connections the storm left are closed by the transmitter (disconnects, the handshake timeout) within seconds.
        await Eventually.That("the descriptors are back within 10% of before", () => Sample(pid).Fd <= fdBefore * 1.1 + 2, TimeSpan.FromSeconds(30), Ct);
        var rateAfter = await RateOver(TimeSpan.FromSeconds(2));
        var (rssAfter, fdAfter) = Sample(pid);
        var (rssLater, _) = (await Task.Delay(TimeSpan.FromSeconds(2), Ct).ContinueWith(_ => Sample(pid), TaskScheduler.Default)); // allowed: a second look at RSS
        await steady.CancelAsync();
        await flow;

        TestContext.WriteLine($"junk flood of {FloodLength.TotalSeconds:0} s ({junked}): flow {rateBefore:0}/s before, {rateDuring:0}/s during, {rateAfter:0}/s after; " +
            $"RSS {rssBefore / 1048576.0:0.0} MiB before, at most {rssDuringMax / 1048576.0:0.0} during, {rssAfter / 1048576.0:0.0} after, {rssLater / 1048576.0:0.0} two seconds later; " +
            $"descriptors {fdBefore} before, at most {fdDuringMax} during, {fdAfter} after");
        Assert.IsGreaterThan(rateBefore * 0.5, rateDuring, "the flow kept going during the flood");
        Assert.IsGreaterThan(rateBefore * 0.9, rateAfter, "the flow is back within 10% after the flood");
        Assert.IsLessThanOrEqualTo(fdBefore * 1.1 + 2, fdAfter, "descriptors are back within 10% after the flood");
        Assert.IsLessThan(rssBefore + (256L << 20), rssDuringMax, "RSS stays bounded during the flood");
        Assert.IsLessThanOrEqualTo(rssDuringMax * 1.05, rssLater, "RSS stops growing once the flood ends");
    }

    /// <summary>The process's resident memory (bytes) and open descriptors, from /proc.</summary>
    private static (long Rss, int Fd) Sample(int pid)
    {
        var rssLine = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kib = long.Parse(rssLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (kib * 1024, Directory.GetFiles($"/proc/{pid}/fd").Length);
    }
}
