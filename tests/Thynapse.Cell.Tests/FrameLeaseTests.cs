namespace Thynapse.Cell.Tests;

/// <summary>When a delivery frame's buffer may be reused: only after everyone given one of its events has finished.</summary>
[TestClass]
public sealed class FrameLeaseTests
{
    [TestMethod]
    public void BufferGoesBackOnceTheFrameIsReadAndEveryHandlerHasFinished()
    {
        var buffer = new byte[64];
        var (lease, returned) = Leased(buffer);
        var first = lease.Hold();
        var second = lease.Hold();

        lease.Release(); // the socket thread has read the frame
        first.Release();
        Assert.IsEmpty(returned, "a handler still has an event of the frame");

        second.Release();
        Assert.HasCount(1, returned);
        Assert.AreSame(buffer, returned[0]);
    }

    [TestMethod]
    public void FrameReadWithoutHandlerEventsGoesBackAtOnce()
    {
        var (lease, returned) = Leased(new byte[64]);

        lease.Release();

        Assert.HasCount(1, returned);
    }

    [TestMethod]
    public void KeptFrameNeverGoesBack()
    {
        var (lease, returned) = Leased(new byte[64]);
        var handled = lease.Hold();
        lease.Keep(); // an observer got one of its events
        lease.Keep();

        lease.Release();
        handled.Release();

        Assert.IsEmpty(returned, "observers may keep their events' bodies as long as they like");
    }

    [TestMethod]
    public void Release_MoreOftenThanHeld_ThrowsAndNeverGivesTheBufferBackTwice()
    {
        var (lease, returned) = Leased(new byte[64]);
        var handled = lease.Hold();
        lease.Release(); // the socket thread has read the frame
        handled.Release();

        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => handled.Release());
        Assert.Contains("released more often than it was held", ex.Message);
        Assert.ThrowsExactly<InvalidOperationException>(() => lease.Release());
        Assert.HasCount(1, returned, "the buffer went back once, when its last holder released it");
    }

    /// <summary>A lease of <paramref name="buffer"/> and the list its buffer goes back to.</summary>
    private static (FrameLease Lease, List<byte[]> Returned) Leased(byte[] buffer)
    {
        var returned = new List<byte[]>();
        return (new FrameLease(buffer, returned.Add), returned);
    }
}
