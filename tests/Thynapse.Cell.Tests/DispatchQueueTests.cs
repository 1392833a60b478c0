namespace Thynapse.Cell.Tests;

/// <summary>The buffer between the socket thread and user code, when its owner reads it itself (a handler).</summary>
[TestClass]
public sealed class DispatchQueueTests
{
    [TestMethod]
    [Timeout(10_000)]
    public async Task OwnerRead_CompletingStartsNoSecondReader()
    {
        var queue = new DispatchQueue<int>(16, _ => { }, readByOwner: true);
        for (var i = 1; i <= 5; i++)
        {
            Assert.IsTrue(queue.TryWrite(i));
        }

        queue.Complete();
        await queue.Completion;

        var left = new List<int>();
        while (queue.Ring.TryRead(out var item))
        {
            left.Add(item);
        }

        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5 }, left, "the owner still reads every item it was given");
    }
}
