namespace Thynapse.Cell.Tests;

/// <summary>The handled-event window behind duplicate suppression: what it remembers, for how long, and for whom.</summary>
[TestClass]
public sealed class CompletedWindowTests
{
    [TestMethod]
    public void RemembersMarkedSequencesOnlyAndPerOrigin()
    {
        var window = new CompletedWindow(100_000);
        var a = Thid.NewRandom();
        var b = Thid.NewRandom();
        for (var s = 1UL; s <= 1000; s += 4)
        {
            window.Add(a, s); // one cell of four: every fourth sequence
        }

        Assert.IsTrue(window.Contains(a, 1));
        Assert.IsTrue(window.Contains(a, 997));
        Assert.IsFalse(window.Contains(a, 2), "another cell's event");
        Assert.IsFalse(window.Contains(a, 1001), "not handled yet");
        Assert.IsFalse(window.Contains(b, 1), "another origin's sequence 1");

        window.Add(a, 500); // late and out of order: remembered too
        Assert.IsTrue(window.Contains(a, 500));
        Assert.IsFalse(window.Contains(a, 499));
    }

    [TestMethod]
    public void GrowsToKeepTheLatestCapacityNumbersThenForgetsOlderOnes()
    {
        const int capacity = 100_000; // rounded up to 131,072 numbers
        var window = new CompletedWindow(capacity);
        var origin = Thid.NewRandom();
        for (var s = 1UL; s <= 300_000; s += 3)
        {
            window.Add(origin, s);
        }

        Assert.IsTrue(window.Contains(origin, 300_000 - 2 - 3 * 40_000), "120,000 numbers back: still within the window (it grew from 4,096)");
        Assert.IsFalse(window.Contains(origin, 1), "300,000 numbers back: forgotten");
        Assert.IsFalse(window.Contains(origin, 300_000 - 2 - 3 * 50_000), "150,000 numbers back: past the window");

        window.Add(origin, 10); // older than the window: not remembered, and nothing newer is disturbed
        Assert.IsFalse(window.Contains(origin, 10));
        Assert.IsTrue(window.Contains(origin, 299_998));
    }

    [TestMethod]
    public void AJumpForwardKeepsWhatIsStillWithinTheWindow()
    {
        var window = new CompletedWindow(8192);
        var origin = Thid.NewRandom();
        window.Add(origin, 5);
        window.Add(origin, 8000); // grows rather than slide 5 out: it is within the latest 8,192
        Assert.IsTrue(window.Contains(origin, 5));
        Assert.IsTrue(window.Contains(origin, 8000));

        window.Add(origin, 1_000_000); // far ahead: everything before is forgotten
        Assert.IsFalse(window.Contains(origin, 5));
        Assert.IsFalse(window.Contains(origin, 8000));
        Assert.IsTrue(window.Contains(origin, 1_000_000));
        Assert.IsFalse(window.Contains(origin, 1_000_000 - 100), "within the window, but cleared by the jump");
    }

    [TestMethod]
    public void ForgetsTheStalestOriginPastItsLimit()
    {
        var window = new CompletedWindow(4096);
        var origins = Enumerable.Range(0, CompletedWindow.MaxOrigins + 1).Select(_ => Thid.NewRandom()).ToArray();
        window.Add(origins[0], 1);
        for (var i = 1; i < CompletedWindow.MaxOrigins; i++)
        {
            window.Add(origins[i], 1);
        }

        window.Add(origins[0], 2); // origin 0 is now the most recently marked; origin 1 the stalest
        window.Add(origins[^1], 1); // one too many

        Assert.IsTrue(window.Contains(origins[0], 1));
        Assert.IsFalse(window.Contains(origins[1], 1), "the stalest origin was forgotten");
        Assert.IsTrue(window.Contains(origins[2], 1));
        Assert.IsTrue(window.Contains(origins[^1], 1));
    }
}
