namespace Thynapse.Transmitter.Tests;

/// <summary><see cref="TransmitterOptions.MaxCells"/>: past it a HELO gets TOO_MANY_CELLS, except a cell resuming its own session.</summary>
[TestClass]
public sealed class CellLimitTests
{
    [TestMethod]
    [Timeout(15_000)]
    public async Task PastMaxCells_HeloIsRefused_ButACellTakingOverItsSessionIsNot()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { MaxCells = 2 });
        using var first = new RawClient(transmitter.CommandEndpoint);
        var token = first.Hello("limited").Value<string>("session")!;
        using var second = new RawClient(transmitter.CommandEndpoint);
        second.Hello("limited");

        using var third = new RawClient(transmitter.CommandEndpoint);
        third.SendJson("HELO", new JObject { ["id"] = third.Id.ToString(), ["service"] = "limited" });
        StringAssert.Contains(third.ExpectError(ThynapseErrorCode.TooManyCells).Value<string>("message"), "limit of 2 cells");

        // The first cell re-joins on a new connection with its token: it takes its own place, not a new one.
        using var rejoining = new RawClient(transmitter.CommandEndpoint);
        rejoining.SendJson("HELO", new JObject { ["id"] = first.Id.ToString(), ["service"] = "limited", ["resume"] = token });
        rejoining.Expect("WLCM");

        // One leaves: there is room again.
        second.SendJson("GBYE", new JObject());
        second.Expect("GBYE");
        third.Hello("limited");
    }
}
