using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>Acknowledgements from any thread, sent by the socket thread as <c>B ACKN</c> frames (see <see cref="FrameQueue"/>).</summary>
/// <remarks>
/// A tag means something only in the session that gave it (review finding 10): the buffer holds the acknowledgements
/// of one session at a time. The socket thread opens it at a welcome (<see cref="BeginSession"/>) and empties it when
/// the session is lost (<see cref="EndSession"/>); an acknowledgement for any other session is dropped and counted,
/// under the same lock, so none of a lost session can reach the next one, however late its handler finishes.
/// </remarks>
internal sealed class AckBuffer(Action wake) : FrameQueue(Command.Ackn, 16 * 1024, wake)
{
    private int _session;
    private long _stale;

    /// <summary>Acknowledgements dropped because their session had ended.</summary>
    public long Stale => Interlocked.Read(ref _stale);

    /// <summary>Socket thread: the session of link <paramref name="session"/> was welcomed; its tags are taken from now on.</summary>
    public void BeginSession(int session)
    {
        lock (Gate)
        {
            _session = session;
        }
    }

    /// <summary>Socket thread: the session was lost; what it had not sent is dropped (the transmitter redelivers those events).</summary>
    public void EndSession()
    {
        lock (Gate)
        {
            _session = 0;
            Clear();
        }
    }

    /// <summary>
    /// Adds an acknowledgement of a tag given in <paramref name="session"/>; false (and counted) when that session is
    /// not the current one. <paramref name="quiet"/>: do not wake the socket thread for it; the caller will call
    /// <see cref="FrameQueue.WakeIfPending"/> soon, so that a run of acknowledgements leaves as one frame.
    /// </summary>
    public bool Append(ulong tag, int session, bool quiet = false)
    {
        var wakeNow = false;
        lock (Gate)
        {
            if (session == 0 || session != _session)
            {
                Interlocked.Increment(ref _stale);
                return false;
            }

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

        return true;
    }
}
