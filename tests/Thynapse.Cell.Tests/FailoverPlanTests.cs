using Thynapse.Cell.Internal;

namespace Thynapse.Cell.Tests;

/// <summary>
/// Where a cell re-joins after losing its session (PROTOCOL.md §5.19): the transmitters its welcome listed as well as the
/// endpoints it was given, or, with <see cref="CellOptions.UseListedTransmitters"/> off, only the endpoints it was given.
/// </summary>
[TestClass]
public sealed class FailoverPlanTests
{
    private const string Proxy = "tcp://10.0.0.1:4710";
    private const string Spare = "tcp://10.0.0.2:4710";
    private static readonly TransmitterAddress[] Listed =
    [
        new(Thid.NewRandom(), "tcp://10.0.1.5:4710", "tcp://10.0.1.5:4711"),
        new(Thid.NewRandom(), "tcp://10.0.1.6:4710", "tcp://10.0.1.6:4711"),
    ];

    [TestMethod]
    public void ALostSession_TriesTheListedTransmittersAndTheGivenOnes_TheLostOneLast()
    {
        var plan = new FailoverPlan(new CellOptions { Transmitter = Proxy, Transmitters = [Spare], Service = "s" });
        plan.Learn(Listed);
        plan.SessionLost(target: null);

        var round = Round(plan, 4);
        CollectionAssert.AreEquivalent(new[] { Listed[0].CommandEndpoint, Listed[1].CommandEndpoint, Spare }, round[..3]);
        Assert.AreEqual(Proxy, round[3], "the lost one last");
        Assert.IsTrue(plan.HasAlternatives);
    }

    [TestMethod]
    public void WithoutListedTransmitters_ALostSession_TriesOnlyTheGivenEndpoints_WhileStillKnowingTheList()
    {
        var plan = new FailoverPlan(new CellOptions { Transmitter = Proxy, Service = "s", UseListedTransmitters = false });
        plan.Learn(Listed);
        plan.SessionLost(target: null);

        CollectionAssert.AreEqual(new[] { Proxy, Proxy, Proxy }, Round(plan, 3), "behind a proxy, the cell re-joins through the proxy only");
        Assert.IsFalse(plan.HasAlternatives, "nowhere else to try");
        Assert.HasCount(2, plan.Known, "the list is still known (Cell.Transmitters)");

        var withSpare = new FailoverPlan(new CellOptions { Transmitter = Proxy, Transmitters = [Spare], Service = "s", UseListedTransmitters = false });
        withSpare.Learn(Listed);
        withSpare.SessionLost(target: null);
        CollectionAssert.AreEqual(new[] { Spare, Proxy }, Round(withSpare, 2), "the given spare, then the lost one");
    }

    [TestMethod]
    public void AShuttingDownTransmittersTarget_GoesFirst_ButNotForACellThatUsesOnlyItsOwnEndpoints()
    {
        var target = Listed[1].CommandEndpoint;
        var plan = new FailoverPlan(new CellOptions { Transmitter = Proxy, Service = "s" });
        plan.Learn(Listed);
        plan.SessionLost(target);
        Assert.AreEqual(target, plan.Current, "GBYE's 'to' first");

        var behindProxy = new FailoverPlan(new CellOptions { Transmitter = Proxy, Service = "s", UseListedTransmitters = false });
        behindProxy.Learn(Listed);
        behindProxy.SessionLost(target);
        CollectionAssert.AreEqual(new[] { Proxy, Proxy }, Round(behindProxy, 2), "the named transmitter's own address is not one this cell uses");
        Assert.IsFalse(behindProxy.HasAlternatives);

        var withSpare = new FailoverPlan(new CellOptions { Transmitter = Proxy, Transmitters = [Spare], Service = "s", UseListedTransmitters = false });
        withSpare.SessionLost(Spare);
        Assert.AreEqual(Spare, withSpare.Current, "a target it was given is still taken first");
        Assert.IsTrue(withSpare.HasAlternatives, "a refused attempt there moves on to the proxy instead of retrying it");
    }

    /// <summary>The endpoints the next <paramref name="attempts"/> attempts go to.</summary>
    private static string[] Round(FailoverPlan plan, int attempts)
    {
        var endpoints = new string[attempts];
        for (var i = 0; i < attempts; i++)
        {
            endpoints[i] = plan.Current;
            plan.Advance();
        }

        return endpoints;
    }
}
