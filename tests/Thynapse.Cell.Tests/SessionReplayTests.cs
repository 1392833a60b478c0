using Newtonsoft.Json.Linq;
using Thynapse.Cell;
using Thynapse.TestKit;

namespace Thynapse.Cell.Tests;

/// <summary>
/// What a cell carries from a lost session into the next, frame by frame, against a transmitter played by the test
/// (<see cref="ScriptedTransmitter"/>): requests it asks again, and nothing that belonged to the lost session.
/// </summary>
[TestClass]
public sealed class SessionReplayTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>Review finding 6: requests unanswered when the session was lost were asked again in reverse order.</summary>
    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task RequestsInFlightWhenTheSessionIsLost_AreAskedAgainInTheirOrder()
    {
        var ct = TestContext.CancellationToken;
        using var transmitter = new ScriptedTransmitter();
        await using var cell = await ConnectAsync(transmitter, ct);

        var updates = Enumerable.Range(1, 3).Select(step => cell.SetMetadataAsync("step", step, ct)).ToList();
        var first = Enumerable.Range(1, 3).Select(_ => transmitter.Expect("META")).ToList();
        Assert.AreEqual("1, 2, 3", Steps(first), "sent in order");

        transmitter.SendJson(first[0].Identity, "GBYE", new JObject { ["reason"] = "shutdown" }); // unanswered, all three
        transmitter.Welcome(transmitter.Expect("HELO"));
        var again = Enumerable.Range(1, 3).Select(_ => transmitter.Expect("META")).ToList();
        again.ForEach(m => transmitter.Okay(m));
        await Task.WhenAll(updates).Within("the metadata updates");

        Assert.AreEqual("1, 2, 3", Steps(again), "asked again in the order they were made");
        Assert.AreEqual(3, cell.Metadata.Value<int>("step"), "the last update made is the one in force");
    }

    private static string Steps(IEnumerable<ScriptedTransmitter.Received> metas) =>
        string.Join(", ", metas.Select(m => m.Json["metadata"]!.Value<int>("step")));

    /// <summary>Connects a cell to the scripted transmitter and welcomes it.</summary>
    private static async Task<Thynapse.Cell.Cell> ConnectAsync(ScriptedTransmitter transmitter, CancellationToken ct, Func<CellOptions, CellOptions>? tune = null)
    {
        var options = CellOptions.Default with { Transmitter = transmitter.Endpoint, Service = TestIds.Next("scripted") };
        var connecting = Thynapse.Cell.Cell.ConnectAsync(tune is null ? options : tune(options), ct);
        transmitter.Welcome(transmitter.Expect("HELO"));
        return await connecting.Within("the cell to be welcomed");
    }
}
