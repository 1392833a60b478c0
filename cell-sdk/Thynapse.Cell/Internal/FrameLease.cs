using System.Diagnostics.CodeAnalysis;
using NetMQ;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The buffer of a received delivery frame, lent to the handlers its events went to: it goes back to NetMQ's buffer
/// pool when the last of them has finished, so a busy handling cell reuses a few warm buffers instead of allocating
/// (and faulting in) a fresh one per frame.
/// </summary>
/// <remarks>
/// A count of holders: the socket thread while it reads the frame, plus one per event given to a handler. An event
/// that went anywhere else (observers, which may keep events as long as they like) keeps the buffer for good: the
/// garbage collector frees it then, as it would without a lease.
/// </remarks>
/// <param name="buffer">The frame's buffer, from NetMQ's pool.</param>
/// <param name="giveBack">Where it goes back (default: NetMQ's <see cref="BufferPool"/>).</param>
internal sealed class FrameLease(byte[] buffer, Action<byte[]>? giveBack = null)
{
    private int _holders = 1;
    private bool _kept;

    /// <summary>Socket thread: an event of the frame goes to a handler, which calls <see cref="Release"/> once it has finished.</summary>
    public FrameLease Hold()
    {
        Interlocked.Increment(ref _holders);
        return this;
    }

    /// <summary>Socket thread: an event of the frame went where it may outlive any handler; the buffer is never reused.</summary>
    public void Keep()
    {
        if (!_kept)
        {
            _kept = true;
            Interlocked.Increment(ref _holders); // a hold nobody releases
        }
    }

    /// <summary>Ends one hold (each <see cref="Hold"/>, and the socket thread's own when it has read the frame).</summary>
    /// <exception cref="InvalidOperationException">The lease was released more often than it was held (a bug).</exception>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _holders);
        if (left == 0)
        {
            (giveBack ?? BufferPool.Return)(buffer);
        }
        else if (left < 0)
        {
            // One release too many hands the buffer to a new renter while a holder still reads it: fail loudly
            // (in Release builds too, which is what runs) rather than corrupt bodies. A count sees it at the release
            // that goes past zero; the buffer went back once, at zero, and never goes back twice.
            ThrowReleasedTooOften();
        }
    }

    [DoesNotReturn]
    private static void ThrowReleasedTooOften() =>
        throw new InvalidOperationException("A received frame was released more often than it was held; its buffer may have been reused while an event still referred to it.");
}
