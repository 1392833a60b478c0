using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>Acknowledgements from any thread, sent by the socket thread as <c>B ACKN</c> frames (see <see cref="FrameQueue"/>).</summary>
internal sealed class AckBuffer(Action wake) : FrameQueue(Command.Ackn, 16 * 1024, wake)
{
    /// <summary>
    /// Adds an acknowledgement. <paramref name="quiet"/>: do not wake the socket thread for it; the caller will call
    /// <see cref="FrameQueue.WakeIfPending"/> soon, so that a run of acknowledgements leaves as one frame.
    /// </summary>
    public void Append(ulong tag, bool quiet = false)
    {
        var wakeNow = false;
        lock (Gate)
        {
            var frame = FrameFor(TagRecord.Length);
            TagRecord.Write(frame, tag);
            if (quiet)
            {
                WrittenQuietly(frame);
            }
            else
            {
                wakeNow = Written(frame);
            }
        }

        if (wakeNow)
        {
            Wake();
        }
    }
}
