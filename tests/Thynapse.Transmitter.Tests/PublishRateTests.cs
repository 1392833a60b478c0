namespace Thynapse.Transmitter.Tests;

/// <summary>
/// Issue 18, item 6, the optional publish rate per cell (<see cref="TransmitterOptions.MaxPublishRate"/>): a cell over it
/// has its events refused with RATE_LIMITED, counted; another cell publishing at the same time is not affected.
/// </summary>
[TestClass]
public sealed class PublishRateTests : TestBase
{
    private const int Rate = 50;
    private const int Burst = 400;

    [TestMethod]
    [Timeout(60_000)]
    public async Task EventsOverTheRate_AreRefusedWithRateLimited_OtherCellsAreNot()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { MaxPublishRate = Rate });
        var channel = TestIds.Next("rate.limited");
        using var fast = RawClient.Welcomed(transmitter.CommandEndpoint, "rate.fast");
        using var calm = RawClient.Welcomed(transmitter.CommandEndpoint, "rate.calm");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var seq = 1; seq <= Burst; seq++)
        {
            fast.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = seq, ["confirm"] = true }, Encoding.ASCII.GetBytes($"#{seq}"));
        }

        var accepted = 0;
        var limited = 0;
        for (var i = 0; i < Burst; i++)
        {
            var (command, payload, _) = fast.ReceiveJson("the answer to an event");
            if (command == "ACPT")
            {
                accepted++;
            }
            else
            {
                Assert.AreEqual("ERRR", command, payload.ToString());
                Assert.AreEqual((int)ThynapseErrorCode.RateLimited, payload.Value<int>("code"), payload.ToString());
                limited++;
            }
        }

        var elapsed = clock.Elapsed;

        // The other cell, one under the rate, right after: every event accepted.
        for (var seq = 1; seq <= Rate / 2; seq++)
        {
            calm.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = seq, ["confirm"] = true });
            Assert.AreEqual(seq, calm.Expect("ACPT").Payload.Value<int>("seq"), "the other cell's events are accepted");
        }

        TestContext.WriteLine($"{Burst} events in {elapsed.TotalMilliseconds:0} ms at a limit of {Rate}/s: {accepted} accepted, {limited} refused");
        Assert.IsGreaterThanOrEqualTo(Rate, accepted, "a second's worth is accepted at once");
        Assert.IsLessThanOrEqualTo(Rate + (Rate * elapsed.TotalSeconds) + 1, accepted, "no more than the rate allows");
        Assert.AreEqual(Burst - accepted, limited, "every other event is refused with RATE_LIMITED");
        await Eventually.That($"the {limited} refusals are counted", () => transmitter.Stats.EventsRateLimited == limited, cancellationToken: Ct);
    }
}
