namespace Thynapse.Fault.Tests;

/// <summary>
/// Acknowledged anycatch across transmitters when the holder — the transmitter serving the chosen cell — is a real
/// process killed with SIGKILL (PROTOCOL.md §12.11): the ingress owns the pending entries, and when the membership
/// declares the holder dead it redelivers what the holder's cells held to a cell on another host.
/// </summary>
[TestClass]
public sealed class ClusterAnycatchFaultTests : TestBase
{
    [TestMethod]
    [Timeout(120_000)]
    public async Task Kill9OfTheHolder_RedeliversWhatItsCellHeldToAnotherHost_AndNoConfirmedEventIsLost()
    {
        await using var ingress = Transmitters.StartLoopback();
        await using var other = Transmitters.StartLoopback(o => o with { Peers = [ingress.CommandEndpoint] });
        using var holder = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", ingress.CommandEndpoint]);
        var service = TestIds.Next("billing");
        var channel = TestIds.Next("charges");

        // A worker on the holder and one on the other host; each event takes a couple of milliseconds, so that some are
        // always in flight at the holder. The publisher is on the ingress, which is not killed.
        var handled = new ConcurrentDictionary<string, int>();
        var onHolder = 0;
        var onOther = 0;
        Func<Event, CancellationToken, Task> Handler(Func<int> count) => async (e, token) =>
        {
            handled.AddOrUpdate(e.BodyAsString(), 1, (_, n) => n + 1);
            count();
            await Task.Delay(2, token);
        };

        await using var workerH = await Cells.ConnectAsync(holder.CommandEndpoint, service, o => o, Ct);
        await using var workerO = await Cells.ConnectAsync(other, service, Ct);
        await using var handlerH = await workerH.HandleAsync(channel, Handler(() => Interlocked.Increment(ref onHolder)), cancellationToken: Ct);
        await using var handlerO = await workerO.HandleAsync(channel, Handler(() => Interlocked.Increment(ref onOther)), cancellationToken: Ct);
        await using var publisher = await Cells.ConnectAsync(ingress, "producer", Ct);

        var publishing = CompletionPublisher.Start(publisher, channel, "charge", loops: 8, r => r.Status == PublishStatus.Completed, Ct);
        var confirmed = publishing.Confirmed;
        var failed = publishing.Failed;
        await Eventually.That("events are handled on both hosts", () => Volatile.Read(ref onHolder) >= 100 && Volatile.Read(ref onOther) >= 100, TimeSpan.FromSeconds(30), Ct);

        var redeliveriesBefore = ingress.Stats.Redeliveries;
        var watch = Stopwatch.StartNew();
        holder.Process.Signal(ChildProcess.SigKill);
        var confirmedBeforeKill = confirmed.ToHashSet();
        await Eventually.That("the ingress declares the holder dead", () => ingress.Peers.Any(p => p.State == PeerState.Dead), TimeSpan.FromSeconds(6), Ct);
        var declared = watch.Elapsed;
        var afterDeath = confirmed.Count;
        await Eventually.That("events complete again", () => confirmed.Count > afterDeath + 50, TimeSpan.FromSeconds(10), Ct);
        await publishing.StopAsync();

        var lost = confirmed.Where(body => !handled.ContainsKey(body)).ToList();
        var duplicated = handled.Where(h => h.Value > 1).Select(h => h.Key).ToList();
        var redelivered = ingress.Stats.Redeliveries - redeliveriesBefore;
        TestContext.WriteLine($"holder declared dead after {declared.TotalMilliseconds:0} ms; {confirmed.Count} confirmed ({confirmedBeforeKill.Count} before the kill), " +
            $"{failed.Count} failed, {handled.Count} handled, {duplicated.Count} handled twice, {redelivered} redelivered by the ingress");
        Assert.IsEmpty(lost, $"confirmed events never handled: {string.Join(", ", lost.Take(10))}");
        Assert.IsEmpty(duplicated.Where(confirmedBeforeKill.Contains).ToList(), "duplicates only of events whose completion was not confirmed when the kill came");
        Assert.IsGreaterThan(0L, redelivered, "what the holder's cell held was redelivered");
        Assert.IsEmpty(failed, "the ingress, which lives, completed every event it accepted");
    }
}
