namespace Thynapse.Cell.Tests;

/// <summary>
/// Review finding 15: disposing sends what is buffered before GBYE even when the cell is out of publishing credit
/// (a transmitter takes events sent without it, PROTOCOL.md §8.4), and counts what could not go out.
/// </summary>
[TestClass]
public sealed class DisposalDrainTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task DisposingOutOfCredit_SendsEveryBufferedEventBeforeGoodbye()
    {
        using var transmitter = new ScriptedTransmitter();
        var cell = await transmitter.ConnectAsync("leaving", Ct, new JObject { ["credit"] = 1 }); // one byte: the first frame spends it
        cell.Publish("audit.entry", "event 0");
        var sent = new List<string>(transmitter.Expect("EVNT").EventBodies());
        for (var i = 1; i < 10; i++)
        {
            cell.Publish("audit.entry", $"event {i}"); // no credit left, and the scripted transmitter gives none
        }

        var closing = cell.DisposeAsync().AsTask();
        var (goodbye, before) = transmitter.ReceiveUntil("GBYE");
        sent.AddRange(before.Where(m => m.Command == "EVNT").SelectMany(m => m.EventBodies()));
        transmitter.SendJson(goodbye.Identity, "GBYE", []);
        await closing.Within("the disposal");
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(i => $"event {i}").ToList(), sent, "every event, in order, before GBYE");
        Assert.AreEqual(0L, cell.PublishesUnsentAtDisposal);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task DisposingWithoutASession_CountsAndLogsWhatCouldNotBeSent()
    {
        using var transmitter = new ScriptedTransmitter();
        var log = new CollectingSink();
        var connecting = Thynapse.Cell.Cell.ConnectAsync(CellOptions.Default with { Transmitter = transmitter.Endpoint, Service = TestIds.Next("leaving"), Logger = log.Logger }, Ct);
        var hello = transmitter.Expect("HELO");
        transmitter.Welcome(hello);
        var cell = await connecting.Within("the welcome");
        transmitter.SendJson(hello.Identity, "GBYE", new JObject { ["reason"] = "shutdown" });
        transmitter.Expect("HELO"); // re-joining, never welcomed again
        for (var i = 0; i < 5; i++)
        {
            cell.Publish("audit.entry", $"event {i}");
        }

        await cell.DisposeAsync().AsTask().Within("the disposal");

        Assert.AreEqual(5L, cell.PublishesUnsentAtDisposal);
        Assert.IsTrue(log.Messages.Any(m => m.StartsWith("5 published events were still buffered when the cell closed", StringComparison.Ordinal)),
            string.Join('\n', log.Messages));
    }
}
