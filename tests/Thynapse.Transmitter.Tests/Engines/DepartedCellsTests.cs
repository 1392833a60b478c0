using static Thynapse.Transmitter.Tests.Engines.EngineTestCells;

namespace Thynapse.Transmitter.Tests.Engines;

/// <summary>Departed cells alone: bounded in number, in kept subscriptions and in time, the oldest forgotten first.</summary>
[TestClass]
public sealed class DepartedCellsTests
{
    [TestMethod]
    public void PastItsCapacity_TheOldestIsForgotten()
    {
        var departed = new DepartedCells(capacity: 2, maxSubscriptions: 100, retentionTicks: 1000);
        var forgotten = new List<LocalCell>();
        var cells = Enumerable.Range(0, 3).Select(_ => NewCell("audit")).ToArray();
        foreach (var cell in cells)
        {
            departed.Add(cell, forgotten);
        }

        CollectionAssert.AreEqual(new[] { cells[0] }, forgotten);
        Assert.AreEqual(2, departed.Count);
        Assert.IsFalse(departed.TryTake(cells[0].Id, out _));
        Assert.IsTrue(departed.TryTake(cells[2].Id, out var taken));
        Assert.AreSame(cells[2], taken);
    }

    [TestMethod]
    public void KeptSubscriptions_AreBoundedAllTogether_AndTakingACellGivesItsShareBack()
    {
        var departed = new DepartedCells(capacity: 100, maxSubscriptions: 4, retentionTicks: 1000);
        var forgotten = new List<LocalCell>();
        var first = NewCell("audit");
        Subscribe(first, 1, "a");
        Subscribe(first, 2, "b");
        Subscribe(first, 3, "c", Thynapse.Core.Catch.Any); // anycatch ends with the session: not kept, not counted
        var second = NewCell("audit");
        Subscribe(second, 1, "a");
        Subscribe(second, 2, "b");
        departed.Add(first, forgotten);
        departed.Add(second, forgotten);
        Assert.AreEqual(4, departed.Subscriptions);
        Assert.IsEmpty(forgotten);

        Assert.IsTrue(departed.TryTake(second.Id, out _));
        Assert.AreEqual(2, departed.Subscriptions, "a resumed cell's subscriptions no longer count");

        var big = NewCell("audit");
        for (uint i = 1; i <= 3; i++)
        {
            Subscribe(big, i, $"big.{i}");
        }

        departed.Add(big, forgotten);
        CollectionAssert.AreEqual(new[] { first }, forgotten, "five kept is more than four: the oldest goes");
        Assert.AreEqual(3, departed.Subscriptions);

        var huge = NewCell("audit");
        for (uint i = 1; i <= 5; i++)
        {
            Subscribe(huge, i, $"huge.{i}");
        }

        departed.Add(huge, forgotten);
        Assert.AreSame(huge, forgotten[^1], "a cell keeping more than all the room is not remembered at all");
        Assert.AreEqual(1, departed.Count);
    }

    [TestMethod]
    public void AfterTheRetention_ACellIsForgotten()
    {
        var departed = new DepartedCells(capacity: 10, maxSubscriptions: 10, retentionTicks: 1000);
        var forgotten = new List<LocalCell>();
        var early = NewCell("audit");
        early.EndedAt = 0;
        var late = NewCell("audit");
        late.EndedAt = 600;
        departed.Add(early, forgotten);
        departed.Add(late, forgotten);

        departed.Expire(now: 1000, forgotten);
        Assert.IsEmpty(forgotten, "neither has been away longer than the retention");
        departed.Expire(now: 1001, forgotten);
        CollectionAssert.AreEqual(new[] { early }, forgotten);
        Assert.AreEqual(1, departed.Count);
    }
}
