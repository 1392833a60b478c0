namespace Thynapse.Cell.Tests;

/// <summary>
/// What a cell carries from a lost session into the next, frame by frame, against a transmitter played by the test
/// (<see cref="ScriptedTransmitter"/>): requests it asks again, and nothing that belonged to the lost session.
/// </summary>
[TestClass]
public sealed class SessionReplayTests : TestBase
{
    /// <summary>Review finding 6: requests unanswered when the session was lost were asked again in reverse order.</summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task RequestsInFlightWhenTheSessionIsLost_AreAskedAgainInTheirOrder()
    {
        using var transmitter = new ScriptedTransmitter();
        await using var cell = await transmitter.ConnectAsync("scripted", Ct);

        var updates = Enumerable.Range(1, 3).Select(step => cell.SetMetadataAsync("step", step, Ct)).ToList();
        var first = Enumerable.Range(1, 3).Select(_ => transmitter.Expect("META")).ToList();
        Assert.AreEqual("1, 2, 3", Steps(first), "sent in order");

        transmitter.SendJson(first[0].Identity, "GBYE", new JObject { ["reason"] = "shutdown" }); // unanswered, all three
        transmitter.Welcome(transmitter.Expect("HELO"));
        var again = Enumerable.Range(1, 3).Select(_ => transmitter.Expect("META")).ToList();
        again.ForEach(m => transmitter.Okay(m));
        await Task.WhenAll(updates).Within("the metadata updates");

        Assert.AreEqual("1, 2, 3", Steps(again), "asked again in the order they were made");
        await transmitter.CloseAsync(cell);
    }

    /// <summary>
    /// Found with finding 6: updates answered in order were applied to the cell's own copy (what a re-joining HELO
    /// carries) in whatever order their continuations ran on the thread pool, so the copy could end with an older one.
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task MetadataUpdatesAnsweredInOrder_AreAppliedLocallyInThatOrder()
    {
        const int updates = 50;
        using var transmitter = new ScriptedTransmitter();
        await using var cell = await transmitter.ConnectAsync("scripted", Ct);

        var made = Enumerable.Range(1, updates).Select(step => cell.SetMetadataAsync("step", step, Ct)).ToList();
        var metas = Enumerable.Range(1, updates).Select(_ => transmitter.Expect("META")).ToList();
        metas.ForEach(m => transmitter.Okay(m));
        await Task.WhenAll(made).Within("the metadata updates");

        Assert.AreEqual(updates, cell.Metadata.Value<int>("step"), "the last update made and answered is the one in force here too");
        await transmitter.CloseAsync(cell);
    }

    /// <summary>
    /// Review finding 10: a NACK or PROG checked against the session on the handler's thread, then sent by the socket
    /// thread after that session was lost, went out in the next one, where the tag names another delivery or none.
    /// The socket thread is held so that the loss comes between the check and the sending, as a busy one would.
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task AnswersForALostSessionsTags_NeverReachTheNextSession()
    {
        using var transmitter = new ScriptedTransmitter();
        await using var cell = await transmitter.ConnectAsync("scripted", Ct);
        var (subscription, subs) = await transmitter.SubscribeAsync(cell, "jobs.*", Catch.Any, new SubscriptionOptions { Acknowledge = true }, Ct); // ends with the cell
        var caught = new EventCollector();
        using var observing = subscription.Subscribe(caught);
        var origin = Thid.NewRandom();
        var body = "job"u8.ToArray();
        transmitter.SendJson(subs.Identity, "DLVR", new DeliveryMessage("jobs.one", Thid.ForEvent(origin, 1, "jobs.one"u8, body), origin, 1, Catch.Any)
        {
            Sub = subscription.Id, Tag = 7, Attempt = 1,
        }.ToJson(), body);
        await caught.WaitForAsync(1, "the delivery of session 1", Ct);
        var e = caught.Events[0];

        using var held = new ManualResetEventSlim();
        try
        {
            cell.RunOnSocketThread(held.Wait); // allowed: the socket thread is busy, as it can be at any moment
            cell.LoseSession("the test lost it");
            await e.InProgressAsync(); // checked now, in session 1; sent (or not) after the loss
            await e.NackAsync("too late");
        }
        finally
        {
            held.Set();
        }

        var hello = transmitter.Expect("HELO");
        transmitter.Welcome(hello);
        var seen = (await UntilSentinelAsync(transmitter, cell, Ct)).Select(m => m.Header).ToList();
        Assert.IsEmpty(seen, "nothing between the new HELO and the sentinel: " + string.Join(" | ", seen));
        Assert.AreEqual(2L, cell.StaleAcknowledgements, "the PROG and the NACK were dropped and counted");
        await transmitter.CloseAsync(cell);
    }

    /// <summary>
    /// Review finding 14: a subscription carried in a re-joining HELO and disposed before the welcome got two UNSBs once
    /// welcomed: one for every subscription the HELO carried that had gone since, and its own parked request.
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task SubscriptionDisposedWhileReJoining_IsUnsubscribedOnce()
    {
        using var transmitter = new ScriptedTransmitter();
        await using var cell = await transmitter.ConnectAsync("scripted", Ct);
        var (subscription, subs) = await transmitter.SubscribeAsync(cell, "audit.*", Catch.Multi, SubscriptionOptions.Default, Ct);

        transmitter.SendJson(subs.Identity, "GBYE", new JObject { ["reason"] = "shutdown" });
        var hello = transmitter.Expect("HELO");
        Assert.AreEqual(subscription.Id, hello.Json["subs"]?[0]?.Value<uint>("sub"), "the re-joining HELO carries the subscription");
        await subscription.DisposeAsync(); // while re-joining: its UNSB waits for the welcome
        var handedOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cell.RunOnSocketThread(handedOver.SetResult);
        await handedOver.Task.Within("the socket thread to take the UNSB");
        transmitter.Welcome(hello);

        var unsubscribed = (await UntilSentinelAsync(transmitter, cell, Ct)).Count(m => m.Command == "UNSB" && m.Json.Value<uint>("sub") == subscription.Id);
        Assert.AreEqual(1, unsubscribed, "exactly one UNSB for the disposed subscription");
        await transmitter.CloseAsync(cell);
    }

    /// <summary>
    /// What the cell sends before a sentinel request made now, which leaves after anything queued before it (the sentinel
    /// is answered, and awaited).
    /// </summary>
    private static async Task<List<ScriptedTransmitter.Received>> UntilSentinelAsync(ScriptedTransmitter transmitter, Thynapse.Cell.Cell cell, CancellationToken ct)
    {
        var sentinel = cell.SetMetadataAsync("sentinel", 1, ct);
        var (meta, before) = transmitter.ReceiveUntil("META");
        transmitter.Okay(meta);
        await sentinel.Within("the sentinel META");
        return before;
    }

    private static string Steps(IEnumerable<ScriptedTransmitter.Received> metas) =>
        string.Join(", ", metas.Select(m => m.Json["metadata"]!.Value<int>("step")));

    /// <summary>A <c>CELL</c> notice of a change kind this version does not know (a later one's) is ignored and counted (PROTOCOL.md §5.17).</summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task ANoticeOfAnUnknownChangeKind_IsIgnoredAndCounted_AndTheWatchGoesOn()
    {
        using var transmitter = new ScriptedTransmitter();
        await using var cell = await transmitter.ConnectAsync("scripted", Ct);
        var changes = new System.Collections.Concurrent.ConcurrentQueue<MembershipChange>();
        using var watching = cell.Watch().Subscribe(changes.Enqueue);
        var watch = transmitter.Expect("WTCH");
        var id = watch.Json.Value<uint>("watch");
        transmitter.Okay(watch, new JObject { ["watch"] = id, ["cells"] = new JArray() });
        var described = new CellDescription(Thid.NewRandom(), "renderer", ["gpu"], new JObject { ["region"] = "eu" }, Thid.NewRandom());

        var notice = new CellChangeMessage(id, CellChange.Joined, described).ToJson();
        notice["change"] = "moved";
        transmitter.SendJson(watch.Identity, "CELL", notice);
        transmitter.SendJson(watch.Identity, "CELL", new CellChangeMessage(id, CellChange.Joined, described).ToJson());

        await Eventually.That("the joined notice after the unknown one reaches the observer", () => !changes.IsEmpty, cancellationToken: Ct);
        Assert.AreEqual(1L, cell.UnknownCellChanges, "the notice of kind 'moved' was counted");
        Assert.IsTrue(changes.TryDequeue(out var first));
        Assert.AreEqual(MembershipChangeKind.Joined, first.Kind, "the unknown kind was not taken for a join or an update");
        Assert.AreEqual(described.Id, first.Cell.Id);
        Assert.IsTrue(changes.IsEmpty, "one change only: " + string.Join(", ", changes.Select(c => c.Kind)));
        await transmitter.CloseAsync(cell);
    }
}
