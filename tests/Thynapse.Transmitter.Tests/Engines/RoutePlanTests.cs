using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Tests.Engines;

/// <summary>Route plans and their narrowing by a target, alone.</summary>
[TestClass]
public sealed class RoutePlanTests
{
    /// <summary>
    /// The empty plan is one static instance shared by every transmitter in a process, each narrowing on its own
    /// routing thread: narrowing it writes no cache (review of issue 15: it did, into one dictionary for all).
    /// </summary>
    [TestMethod]
    public void NarrowingTheEmptyPlan_WritesNothingShared()
    {
        var target = new EventTarget(query: null, service: "billing", keyHash: 0, hasKey: false);
        var first = RoutePlan.Empty.Narrow(target, metadataEpoch: 1);
        var second = RoutePlan.Empty.Narrow(new EventTarget(null, "audit", 0, false), metadataEpoch: 2);
        Assert.AreSame(TargetedPlan.Nobody, first, "the shared empty narrowing, not one computed and cached");
        Assert.AreSame(first, second);
        Assert.IsEmpty(first.Multicatch);
        Assert.IsEmpty(first.Anycatch);
    }
}
