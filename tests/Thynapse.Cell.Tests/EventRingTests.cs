namespace Thynapse.Cell.Tests;

/// <summary>The ring between the socket thread and a subscription's loop: order, bounds, growth, wake-ups, completion.</summary>
[TestClass]
public sealed class EventRingTests : TestBase
{
    [TestMethod]
    public void TryWrite_RefusesPastCapacityAndTryReadKeepsOrder()
    {
        var ring = new EventRing<int>(1000);
        for (var i = 0; i < 1000; i++)
        {
            Assert.IsTrue(ring.TryWrite(i));
        }

        Assert.IsFalse(ring.TryWrite(1000), "full at its capacity, though it grew to 1024 slots");
        Assert.AreEqual(1000, ring.Count);
        AssertReadsInOrderThenEmpty(ring, 1000);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task RunOfWrites_KeepsOrderRespectsCapacityAndWakesAWaitingConsumer()
    {
        var ring = new EventRing<int>(300); // grows from 256 slots during the run
        var waiting = ring.WaitToReadAsync().AsTask();
        Assert.IsFalse(waiting.IsCompleted, "nothing written yet");

        ring.BeginWrites();
        for (var i = 0; i < 300; i++)
        {
            Assert.IsTrue(ring.TryWriteHeld(i));
        }

        Assert.IsFalse(ring.TryWriteHeld(300), "full at its capacity inside a run too");
        ring.EndWrites();

        Assert.IsTrue(await waiting.WaitAsync(TimeSpan.FromSeconds(5), Ct), "EndWrites wakes the consumer");
        AssertReadsInOrderThenEmpty(ring, 300);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Complete_FromAnotherThread_WaitsForTheRunAndKeepsItsItems()
    {
        var ring = new EventRing<int>(100);
        ring.BeginWrites();
        ring.TryWriteHeld(1);
        var completing = Task.Run(() => ring.Complete(), Ct);
        Assert.IsFalse(completing.Wait(TimeSpan.FromMilliseconds(200), Ct), "Complete waits for the run to end");
        Assert.IsTrue(ring.TryWriteHeld(2), "the run goes on");
        ring.EndWrites();
        await completing.WaitAsync(TimeSpan.FromSeconds(5), Ct);

        var read = new List<int>();
        while (await ring.WaitToReadAsync())
        {
            while (ring.TryRead(out var item))
            {
                read.Add(item);
            }
        }

        CollectionAssert.AreEqual(new[] { 1, 2 }, read);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ConcurrentProducerAndConsumer_SeeEveryItemInOrder()
    {
        const int items = 2_000_000;
        var ring = new EventRing<long>(100_000);
        var producer = Task.Run(() =>
        {
            for (long i = 0; i < items;)
            {
                if (ring.TryWrite(i))
                {
                    i++;
                }
                else
                {
                    Thread.Yield(); // full: let the consumer catch up (this is the test's producer, not a wait on a condition)
                }
            }

            ring.Complete();
        }, Ct);

        long expected = 0;
        while (await ring.WaitToReadAsync())
        {
            while (ring.TryRead(out var item))
            {
                Assert.AreEqual(expected++, item);
            }
        }

        await producer;
        Assert.AreEqual(items, expected);
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task Complete_WithAnErrorEndsTheConsumerWithIt()
    {
        var ring = new EventRing<int>(10);
        ring.TryWrite(1);
        var failure = new InvalidOperationException("ended");

        ring.Complete(failure);

        Assert.IsTrue(await ring.WaitToReadAsync());
        Assert.IsTrue(ring.TryRead(out _));
        Assert.IsFalse(ring.TryWrite(2), "completed rings take nothing");
        var thrown = await Assert.ThrowsExactlyAsync<InvalidOperationException>(async () => await ring.WaitToReadAsync());
        Assert.AreSame(failure, thrown);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task BlockingConsumer_SeesEveryItemInOrderAndTheEnd()
    {
        // Runs of writes with a sleeping consumer between them exercise the blocking wait's hand-off many times.
        const int runs = 20_000;
        const int perRun = 10;
        var ring = new EventRing<long>(1000);
        long expected = 0;
        var consumer = Task.Factory.StartNew(() =>
        {
            while (ring.WaitToRead())
            {
                while (ring.TryRead(out var item))
                {
                    Assert.AreEqual(expected++, item);
                }
            }
        }, Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        long next = 0;
        for (var run = 0; run < runs; run++)
        {
            ring.BeginWrites();
            for (var i = 0; i < perRun; i++)
            {
                while (!ring.TryWriteHeld(next))
                {
                    ring.EndWrites(); // full: let the consumer catch up (the test's producer, not a wait on a condition)
                    Thread.Yield();
                    ring.BeginWrites();
                }

                next++;
            }

            ring.EndWrites();
        }

        ring.Complete();
        await consumer.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.AreEqual(runs * perRun, expected, "the consumer saw every item, then the end");
    }

    [TestMethod]
    [Timeout(10_000)]
    public async Task BlockingConsumer_IsWokenByCompletionAndThrowsItsError()
    {
        var ring = new EventRing<int>(10);
        var failure = new InvalidOperationException("ended");
        var waiting = Task.Factory.StartNew(() => Assert.ThrowsExactly<InvalidOperationException>(() => ring.WaitToRead()),
            Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.IsFalse(waiting.Wait(TimeSpan.FromMilliseconds(100), Ct), "nothing written: the consumer sleeps");

        ring.Complete(failure);

        var thrown = await waiting.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.AreSame(failure, thrown);
    }

    /// <summary>The ring holds 0 to <paramref name="count"/> - 1, read in that order, and nothing after them.</summary>
    private static void AssertReadsInOrderThenEmpty(EventRing<int> ring, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.IsTrue(ring.TryRead(out var item));
            Assert.AreEqual(i, item);
        }

        Assert.IsFalse(ring.TryRead(out _));
    }
}
