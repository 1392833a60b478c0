using Thynapse.Transmitter.Routing;
using static Thynapse.Transmitter.Tests.Engines.EngineTestCells;

namespace Thynapse.Transmitter.Tests.Engines;

/// <summary>The route table alone: plans per channel, their cache, and the interest feed the mesh will forward.</summary>
[TestClass]
public sealed class RouteTableTests
{
    /// <summary>The feed says when a pattern gains its first subscription and loses its last, whatever the cell and mode.</summary>
    [TestMethod]
    public void InterestFeed_FiresOnTheFirstAndTheLastSubscriptionOfAPattern()
    {
        var table = new RouteTable();
        var feed = new List<string>();
        table.InterestChanged += (pattern, interested) => feed.Add($"{(interested ? "+" : "-")}{pattern.Text}");
        var audit = NewCell("audit");
        var billing = NewCell("billing");

        var first = Subscribe(audit, 1, "orders.>");
        var second = Subscribe(billing, 1, "orders.>", Catch.Any);
        var other = Subscribe(billing, 2, "jobs.*", Catch.Any);
        table.Add(first);
        table.Add(second);
        table.Add(other);
        CollectionAssert.AreEqual(new[] { "+orders.>", "+jobs.*" }, feed, "one notice per pattern gained");
        Assert.AreEqual(2, table.Patterns);
        Assert.AreEqual(3, table.Subscriptions);

        table.Remove(first);
        CollectionAssert.AreEqual(new[] { "+orders.>", "+jobs.*" }, feed, "orders.> is still caught by billing");
        table.Remove(first);
        Assert.AreEqual(2, feed.Count, "removing what the table does not hold changes nothing");
        table.Remove(second);
        table.Remove(other);
        CollectionAssert.AreEqual(new[] { "+orders.>", "+jobs.*", "-orders.>", "-jobs.*" }, feed);
        Assert.AreEqual(0, table.Patterns);
    }

    /// <summary>A plan holds each cell once per mode and one anycatch group per service; a change empties the cache.</summary>
    [TestMethod]
    public void Plan_HoldsEachCellOnce_AndIsBuiltAgainAfterAChange()
    {
        var table = new RouteTable();
        var audit = NewCell("audit");
        var a = NewCell("billing");
        var b = NewCell("billing");
        table.Add(Subscribe(audit, 1, "orders.>"));
        table.Add(Subscribe(audit, 2, "orders.created")); // the same cell twice: one copy
        table.Add(Subscribe(a, 1, "orders.*", Catch.Any));
        table.Add(Subscribe(b, 1, "orders.created", Catch.Any));

        var plan = table.Find("orders.created"u8, out var error);
        Assert.IsNull(error);
        Assert.IsNotNull(plan);
        Assert.HasCount(1, plan.Multicatch);
        Assert.HasCount(1, plan.Anycatch, "one group for the billing service");
        Assert.HasCount(2, plan.Anycatch[0].Candidates);
        Assert.AreSame(plan, table.Find("orders.created"u8, out _), "cached");
        Assert.AreEqual(1, table.CachedChannels);

        table.Add(Subscribe(NewCell("late"), 1, "orders.created"));
        Assert.AreEqual(0, table.CachedChannels, "a change empties the cache");
        Assert.HasCount(2, table.Find("orders.created"u8, out _)!.Multicatch);
    }

    /// <summary>An invalid channel gets no plan and an explanation; a channel nobody catches gets the shared empty plan.</summary>
    [TestMethod]
    public void Find_RefusesAnInvalidChannel_AndGivesTheEmptyPlanWhenNobodyCatches()
    {
        var table = new RouteTable();
        Assert.IsNull(table.Find("orders..created"u8, out var error));
        Assert.IsNotNull(error);
        Assert.AreSame(RoutePlan.Empty, table.Find(Encoding.ASCII.GetBytes("nobody.here"), out error));
        Assert.IsNull(error);
    }
}
