namespace Thynapse.Cell.Tests;

/// <summary>When a delivery frame's buffer may be reused: only after everyone given one of its events has finished.</summary>
[TestClass]
public sealed class FrameLeaseTests
{
    [TestMethod]
    public void BufferGoesBackOnceTheFrameIsReadAndEveryHandlerHasFinished()
    {
        var returned = new List<byte[]>();
        var buffer = new byte[64];
        var lease = new FrameLease(buffer, returned.Add);
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
        var returned = new List<byte[]>();
        var lease = new FrameLease(new byte[64], returned.Add);

        lease.Release();

        Assert.HasCount(1, returned);
    }

    [TestMethod]
    public void KeptFrameNeverGoesBack()
    {
        var returned = new List<byte[]>();
        var lease = new FrameLease(new byte[64], returned.Add);
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
        var returned = new List<byte[]>();
        var lease = new FrameLease(new byte[64], returned.Add);
        var handled = lease.Hold();
        lease.Release(); // the socket thread has read the frame
        handled.Release();

        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => handled.Release());
        Assert.Contains("released more often than it was held", ex.Message);
        Assert.ThrowsExactly<InvalidOperationException>(() => lease.Release());
        Assert.HasCount(1, returned, "the buffer went back once, when its last holder released it");
    }
}
