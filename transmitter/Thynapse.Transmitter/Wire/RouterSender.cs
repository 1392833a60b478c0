using NetMQ;
using NetMQ.Sockets;

namespace Thynapse.Transmitter.Wire;

/// <summary>What became of a send to one cell.</summary>
internal enum SendOutcome
{
    /// <summary>Queued towards the cell.</summary>
    Sent,

    /// <summary>The cell's queue is at its high-water mark; nothing was queued.</summary>
    Full,

    /// <summary>The cell's connection is gone; nothing was queued.</summary>
    Gone,
}

/// <summary>Where the routing logic hands frames for one cell: the ROUTER socket, or a stand-in in benchmarks.</summary>
internal interface IFrameSender
{
    /// <summary>Sends one frame to the cell behind <paramref name="routingId"/>.</summary>
    SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> frame);

    /// <summary>Sends a two-frame message (header and body) to the cell behind <paramref name="routingId"/>.</summary>
    SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body);
}

/// <summary>
/// Sends to one cell through the ROUTER socket with <c>ROUTER_MANDATORY</c> set, so that a full queue or a
/// vanished peer is reported instead of being dropped silently by ZeroMQ (PROTOCOL.md §8.2).
/// </summary>
internal sealed class RouterSender(RouterSocket socket) : IFrameSender
{
    public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> frame) => Send(routingId, frame, default, twoFrames: false);

    public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body) => Send(routingId, header, body, twoFrames: true);

    private SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool twoFrames)
    {
        var msg = default(Msg);
        msg.InitGC(routingId, routingId.Length);
        try
        {
            // The routing id is where ROUTER checks the peer's pipe: false = at the high-water mark.
            if (!socket.TrySend(ref msg, TimeSpan.Zero, more: true))
            {
                return SendOutcome.Full;
            }
        }
        catch (HostUnreachableException)
        {
            return SendOutcome.Gone;
        }
        finally
        {
            msg.Close();
        }

        // Once the routing id is taken, the rest of the message goes into the same pipe without blocking.
        SendFrame(first, more: twoFrames);
        if (twoFrames)
        {
            SendFrame(second, more: false);
        }

        return SendOutcome.Sent;
    }

    private void SendFrame(ReadOnlySpan<byte> frame, bool more)
    {
        var msg = default(Msg);
        msg.InitPool(frame.Length);
        frame.CopyTo(msg.Slice());
        try
        {
            socket.TrySend(ref msg, TimeSpan.Zero, more);
        }
        finally
        {
            msg.Close();
        }
    }
}
