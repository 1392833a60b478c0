namespace Thynapse.Fault.Tests;

/// <summary>
/// Cell failover against a real transmitter process killed with SIGKILL (PROTOCOL.md §5.19, §12.8 "Claims"): its cells
/// re-join the other transmitter of their list with the same THID and subscriptions, and the publisher's
/// completion-awaited events are resent there, so none whose completion was confirmed is lost.
/// </summary>
[TestClass]
public sealed class FailoverFaultTests : TestBase
{
    [TestMethod]
    [Timeout(120_000)]
    public async Task Kill9_CellsServeAgainThroughAnotherTransmitterWithinThreeSeconds_AndNoConfirmedEventIsLost()
    {
        await using var b = Transmitters.StartLoopback();
        using var a = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", b.CommandEndpoint]);
        var service = TestIds.Next("billing");
        var channel = TestIds.Next("orders");

        // Workers of one service on both transmitters: before the kill a routes to its own, after it b has one at once.
        var handled = new ConcurrentDictionary<string, int>();
        Task Handle(Event e, CancellationToken _)
        {
            handled.AddOrUpdate(e.BodyAsString(), 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }

        await using var workerA = await Cells.ConnectAsync(a.CommandEndpoint, service, o => o, Ct);
        await using var workerB = await Cells.ConnectAsync(b, service, Ct);
        await using var handlerA = await workerA.HandleAsync(channel, Handle, cancellationToken: Ct);
        await using var handlerB = await workerB.HandleAsync(channel, Handle, cancellationToken: Ct);
        await using var publisher = await Cells.ConnectAsync(a.CommandEndpoint, "producer", o => o, Ct);
        await Eventually.That("the cells of a know b", () => publisher.Transmitters.Count == 2 && workerA.Transmitters.Count == 2, TimeSpan.FromSeconds(20), Ct);
        using (var asker = RawClient.Welcomed(b.CommandEndpoint, "asker"))
        {
            await Eventually.That("b's replica holds a's cells", () => Listed(asker, "producer") && Listed(asker, service, 2), TimeSpan.FromSeconds(10), Ct);
        }

        var publishing = CompletionPublisher.Start(publisher, channel, "event", loops: 4, r => r.Receivers > 0, Ct);
        var confirmed = publishing.Confirmed;
        var failed = publishing.Failed;
        await Eventually.That("events flow through a", () => confirmed.Count >= 200, TimeSpan.FromSeconds(20), Ct);

        var watch = Stopwatch.StartNew();
        a.Process.Signal(ChildProcess.SigKill);
        var confirmedBeforeKill = confirmed.ToHashSet();
        var before = confirmedBeforeKill.Count;
        await Eventually.That("the publisher serves again through b", () => publisher.TransmitterId == b.Id && confirmed.Count > before + 20, TimeSpan.FromSeconds(3), Ct);
        var servedAgain = watch.Elapsed;
        await Eventually.That("the worker of a moved to b", () => workerA.TransmitterId == b.Id && workerA.CurrentState == CellState.Connected, TimeSpan.FromSeconds(3), Ct);
        var workerMoved = watch.Elapsed;
        await publishing.StopAsync();

        var lost = confirmed.Where(body => !handled.ContainsKey(body)).ToList();
        var duplicated = handled.Where(h => h.Value > 1).Select(h => h.Key).ToList();
        TestContext.WriteLine($"kill -9 to the publisher serving again through b: {servedAgain.TotalMilliseconds:0} ms; the worker moved after {workerMoved.TotalMilliseconds:0} ms; " +
            $"{confirmed.Count} confirmed, {failed.Count} failed, {handled.Count} handled, {duplicated.Count} handled twice; b took {b.Stats.CellsMovedIn} cells as moves");
        Assert.IsLessThan(TimeSpan.FromSeconds(3), servedAgain, "serving again within 3 s (issue 17)");
        Assert.IsEmpty(lost, $"confirmed events never handled: {string.Join(", ", lost.Take(10))}");
        Assert.IsEmpty(duplicated.Where(confirmedBeforeKill.Contains).ToList(), "duplicates only of events whose completion was not confirmed when the kill came");
        Assert.AreEqual(b.Id, publisher.TransmitterId);
        Assert.IsGreaterThanOrEqualTo(2L, b.Stats.CellsMovedIn, "the publisher and a's worker moved to b proving their claims");
    }

    private static bool Listed(RawClient asker, string service, int count = 1)
    {
        asker.SendJson("LIST", new Newtonsoft.Json.Linq.JObject { ["service"] = service });
        return ((Newtonsoft.Json.Linq.JArray)asker.Expect("OKAY", "OKAY for LIST").Payload["cells"]!).Count == count;
    }
}
