using NetMQ;
using Thynapse.Core;

namespace Thynapse.Cell;

// Getting frames in and out of the DEALER socket. Everything here runs on the socket thread.
public sealed partial class Cell
{
    private const int ReceiveBudget = 4096;

    private readonly Queue<Outgoing> _outbox = new();
    private Msg _frame;
    private Msg _body;
    private Msg _extra;
    private bool _sendReadyWatched;
    private long _lastTaken;

    private void OnReceiveReady(object? sender, NetMQSocketEventArgs? e)
    {
        for (var i = 0; i < ReceiveBudget && _dealer.TryReceive(ref _frame, TimeSpan.Zero); i++)
        {
            var hasBody = _frame.HasMore && _dealer.TryReceive(ref _body, TimeSpan.Zero);
            var more = hasBody && _body.HasMore;
            while (more && _dealer.TryReceive(ref _extra, TimeSpan.Zero))
            {
                more = _extra.HasMore; // transmitters never send more than two frames; ignore the rest
            }

            _lastHeard = Environment.TickCount64;
            try
            {
                if (IsBinaryDeliveries(_frame.Slice()))
                {
                    // The hot path: the events' bodies become slices of this frame's buffer, which we keep.
                    HandleDeliveries(TakeBuffer(ref _frame), FrameHeader.PayloadOffset);
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

    /// <summary>Sends a frame, or queues it behind earlier ones when the socket is at its high-water mark.</summary>
    private void Send(byte[] frame)
    {
        var item = new Outgoing(frame, null, null);
        if (_outbox.Count > 0 || !TrySend(item))
        {
            _outbox.Enqueue(item);
            WatchSendReady(true);
        }
    }

    private bool TrySend(Outgoing item)
    {
        var frame = item.Batch is { } batch ? batch.Frame : item.Frame;
        var msg = default(Msg);
        msg.InitPool(frame.Length);
        frame.CopyTo(msg.Slice());
        var sent = _dealer.TrySend(ref msg, TimeSpan.Zero, more: false);
        msg.Close();
        if (sent && item.Batch is not null)
        {
            item.Owner!.Release(item.Batch);

            // Events keep leaving: the socket's bounded queue (and the TCP and transmitter buffers behind it) would
            // stop taking them within moments if the transmitter stopped reading (see OnTimer's liveness check).
            _lastTaken = Environment.TickCount64;
        }

        return sent;
    }

    private void OnSendReady(object? sender, NetMQSocketEventArgs e) => Guarded("sending queued frames", () =>
    {
        while (_outbox.TryPeek(out var item))
        {
            if (!TrySend(item))
            {
                return;
            }

            _outbox.Dequeue();
        }

        WatchSendReady(false);
        FlushPublishes();
    });

    private void WatchSendReady(bool watch)
    {
        if (watch == _sendReadyWatched)
        {
            return;
        }

        _sendReadyWatched = watch;
        if (watch)
        {
            _dealer.SendReady += OnSendReady;
        }
        else
        {
            _dealer.SendReady -= OnSendReady;
        }
    }

    /// <summary>
    /// Runs socket-thread work so that a bug in it is logged instead of escaping into NetMQ's loop, which would
    /// end the socket thread — and, running inside the application, its process.
    /// </summary>
    private void Guarded(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _log.Error(ex, "Failed at {Work}; the cell goes on", what);
        }
    }

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

    /// <summary>A frame waiting for the socket: a control frame, or a batch to give back to its queue once sent.</summary>
    private readonly record struct Outgoing(byte[]? Frame, FrameBatch? Batch, Internal.FrameQueue? Owner);
}
