using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>Acknowledgements from any thread, sent by the socket thread as <c>B ACKN</c> frames (see <see cref="FrameQueue"/>).</summary>
internal sealed class AckBuffer(Action wake) : FrameQueue(Command.Ackn, 16 * 1024, wake)
{
    public void Append(ulong tag)
    {
        bool wakeNow;
        lock (Gate)
        {
            var frame = FrameFor(TagRecord.Length);
            TagRecord.Write(frame, tag);
            wakeNow = Written(frame);
        }

        if (wakeNow)
        {
            Wake();
        }
    }
}
