using NetMQ;
using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

// Getting frames in and out of the DEALER socket of the current link. Everything here runs on the socket thread.
public sealed partial class Cell
{
    private const int ReceiveBudget = 4096;

    private readonly SocketCount _sockets = new();
    private readonly LinkEvents _linkEvents;
    private readonly Outbox _outbox;
    private Link? _link;
    private int _links;
    private Msg _frame;
    private Msg _body;
    private Msg _extra;

    /// <summary>Links (one per attempt at a session) opened so far.</summary>
    internal int LinksOpened => Volatile.Read(ref _links);

    /// <summary>DEALER sockets and monitors this cell opened and has not disposed yet (tests check that none leak).</summary>
    internal int SocketsOpen => _sockets.Open;

    /// <summary>Opens the next link (see <see cref="Link"/>) and hands it to the outbox.</summary>
    private void OpenLink()
    {
        var link = Link.Open(_thread, _options.Transmitter, $"thynapse-cell-{Id}", ++_links, _linkEvents, _sockets);
        _link = link;
        _outbox.Attach(link);
    }

    /// <summary>
    /// Closes the current link: the outbox gives back what it had not sent (see <see cref="Outbox.Detach"/>), and a
    /// HELO still waiting for its answer is not answered on another link (review finding 13).
    /// </summary>
    /// <param name="linger">How long the socket may still try to send what it holds (zero when the session is lost).</param>
    private void CloseLink(TimeSpan linger)
    {
        if (_link is not { } link)
        {
            return;
        }

        _link = null;
        _requests.Forget(link.HelloRef);
        _outbox.Detach();
        link.Close(linger);
    }

    private void OnReceiveReady(object? sender, NetMQSocketEventArgs? e)
    {
        if (_link is not { } link || (e is not null && !ReferenceEquals(e.Socket, link.Dealer)))
        {
            return; // an event of a link closed meanwhile
        }

        var dealer = link.Dealer;
        for (var i = 0; i < ReceiveBudget && _link == link && dealer.TryReceive(ref _frame, TimeSpan.Zero); i++)
        {
            var hasBody = _frame.HasMore && dealer.TryReceive(ref _body, TimeSpan.Zero);
            var more = hasBody && _body.HasMore;
            while (more && dealer.TryReceive(ref _extra, TimeSpan.Zero))
            {
                more = _extra.HasMore; // transmitters never send more than two frames; ignore the rest
            }

            _lastHeard = Now();
            try
            {
                if (IsBinaryDeliveries(_frame.Slice()))
                {
                    // The hot path: the events' bodies become slices of this frame's buffer, which we keep.
                    _deliveries.Binary(TakeBuffer(ref _frame), FrameHeader.PayloadOffset);
                }
                else
                {
                    Handle(_frame.Slice(), hasBody ? _body.Slice() : default);
                }
            }
            catch (Exception ex)
            {
                // A frame we cannot handle is a bug on one side or the other; the socket thread must go on.
                _log.Error(ex, "Failed to handle a frame from the transmitter");
            }

            Release(ref _frame);
            Release(ref _body);
            Release(ref _extra);
        }
    }

    /// <summary>Sends a control frame on the current link (see <see cref="Outbox.Send"/>).</summary>
    private void Send(byte[] frame) => _outbox.Send(frame);

    private static bool IsBinaryDeliveries(ReadOnlySpan<byte> frame) => frame.Length > FrameHeader.PayloadOffset && frame.StartsWith("B DLVR "u8);

    /// <summary>
    /// Takes a received frame's buffer out of the message without returning it to NetMQ's pool: the events read
    /// from it keep referring to it, so nothing is copied (a <see cref="Internal.FrameLease"/> gives it back once the
    /// handlers of its events have finished, or leaves it to the garbage collector).
    /// </summary>
    private static ArraySegment<byte> TakeBuffer(ref Msg msg)
    {
        if (!System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(msg.SliceAsMemory(), out var buffer))
        {
            buffer = msg.Slice().ToArray();
        }

        msg.InitEmpty(); // detaches the buffer (a received frame is never shared)
        return buffer;
    }

    private void ReleaseFrames()
    {
        _frame.Close();
        _body.Close();
        _extra.Close();
    }

    private static void Release(ref Msg msg)
    {
        msg.Close();
        msg.InitEmpty();
    }
}
