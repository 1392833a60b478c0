using NetMQ;
using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Frames from the transmitter, read from the current link's socket and handed to the engine each is for: deliveries,
/// answers to publishes and requests, the session's own commands, notices. Socket thread.
/// </summary>
/// <remarks>
/// Any frame at all proves the transmitter alive (<see cref="SessionEngine.Heard"/>). A frame that cannot be handled
/// is a bug on one side or the other: it is logged, and the thread goes on with the next.
/// </remarks>
internal sealed class InboundDispatch
{
    /// <summary>Messages read in one go before the thread looks at its other work (and, at a tick, at what is waiting).</summary>
    private const int ReceiveBudget = 4096;

    private readonly InboundParts _parts;
    private readonly PublishReplies _replies;
    private readonly ILogger _log;
    private readonly RateLimitedLog _ignored;
    private Msg _frame;
    private Msg _body;
    private Msg _extra;

    public InboundDispatch(InboundParts parts, ILogger log)
    {
        _parts = parts;
        _log = log;
        _ignored = new RateLimitedLog(log, TimeProvider.System, "ignored-message", perWindow: 5);
        _replies = new PublishReplies(parts.Publishes);
        _frame.InitEmpty();
        _body.InitEmpty();
        _extra.InitEmpty();
    }

    /// <summary>Reads what already arrived (each tick does, before judging the transmitter's liveness).</summary>
    public void ReadWaiting() => OnReceiveReady(null, null);

    /// <summary>The link's socket has frames (or, with no arguments, may have).</summary>
    public void OnReceiveReady(object? sender, NetMQSocketEventArgs? e)
    {
        if (_parts.Session.Link is not { } link || (e is not null && !ReferenceEquals(e.Socket, link.Dealer)))
        {
            return; // an event of a link closed meanwhile
        }

        var dealer = link.Dealer;
        for (var i = 0; i < ReceiveBudget && _parts.Session.Link == link && dealer.TryReceive(ref _frame, TimeSpan.Zero); i++)
        {
            var hasBody = _frame.HasMore && dealer.TryReceive(ref _body, TimeSpan.Zero);
            var more = hasBody && _body.HasMore;
            while (more && dealer.TryReceive(ref _extra, TimeSpan.Zero))
            {
                more = _extra.HasMore; // transmitters never send more than two frames; ignore the rest
            }

            _parts.Session.Heard();
            try
            {
                if (IsBinaryDeliveries(_frame.Slice()))
                {
                    // The hot path: the events' bodies become slices of this frame's buffer, which we keep.
                    _parts.Deliveries.Binary(TakeBuffer(ref _frame), FrameHeader.PayloadOffset);
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

    /// <summary>After the socket thread stopped: gives the messages' buffers back.</summary>
    public void Release()
    {
        _frame.Close();
        _body.Close();
        _extra.Close();
    }

    private void Handle(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
    {
        if (FrameHeader.TryParse(header, out var encoding, out var command, out var payload, out var error) != ThynapseErrorCode.None)
        {
            _log.Warning("The transmitter sent a malformed frame: {Reason}", error);
            return;
        }

        if (encoding == Encodings.Binary)
        {
            switch (command)
            {
                case Command.Dlvr:
                    _parts.Deliveries.Binary(Deliveries.CopyOf(header), FrameHeader.PayloadOffset); // not the hot path (see OnReceiveReady)
                    return;
                case Command.Acpt:
                    _replies.Accepts(payload);
                    return;
                case Command.Done:
                    _replies.Completions(payload);
                    return;
            }
        }
        else if (JsonPayload.TryParse(payload, out var json, out error))
        {
            switch (command)
            {
                case Command.Dlvr:
                    if (DeliveryMessage.TryRead(json, out var delivery, out error))
                    {
                        _parts.Deliveries.Json(delivery, body);
                        return;
                    }

                    break;
                case Command.Acpt:
                    if (AcceptMessage.TryRead(json, out var accept, out error))
                    {
                        _replies.Accept(accept);
                        return;
                    }

                    break;
                case Command.Done:
                    if (DoneMessage.TryRead(json, out var done, out error))
                    {
                        _replies.Completion(done);
                        return;
                    }

                    break;
                case Command.Wlcm:
                    if (WelcomeMessage.TryRead(json, out var welcome, out error))
                    {
                        _parts.Session.Welcome(welcome, json);
                        return;
                    }

                    break;
                case Command.Okay:
                    if (OkayMessage.TryRead(json, out var okay, out error))
                    {
                        _parts.Requests.Answer(okay);
                        return;
                    }

                    break;
                case Command.Errr:
                    if (ErrorMessage.TryRead(json, out var refusal, out error))
                    {
                        HandleError(refusal);
                        return;
                    }

                    break;
                case Command.Beat:
                    return;
                case Command.Gbye:
                    if (GoodbyeMessage.TryRead(json, out var goodbye, out error))
                    {
                        _parts.Session.Goodbye(goodbye);
                        return;
                    }

                    break;
                case Command.Cell:
                    if (CellChangeMessage.TryRead(json, out var change, out error))
                    {
                        _parts.Watches.Notice(change);
                        return;
                    }

                    if (CellChangeMessage.IsOfUnknownKind(json))
                    {
                        _parts.Watches.UnknownKind(json.Value<string>("change")!); // a later version's kind: ignored (PROTOCOL.md §5.17)
                        return;
                    }

                    break;
                case Command.Slow:
                    if (SlowMessage.TryRead(json, out var slow, out error))
                    {
                        HandleSlow(slow);
                        return;
                    }

                    break;
                case Command.Tmtr:
                    if (TransmittersMessage.TryRead(json, out var transmitters, out error))
                    {
                        _parts.Session.TransmittersChanged(transmitters);
                        return;
                    }

                    break;
                case Command.Cred:
                    if (CreditMessage.TryRead(json, out var credit, out error))
                    {
                        _parts.Outbox.AddCredit(credit.Credit); // PROTOCOL.md §8.4: events that waited for it go out
                        return;
                    }

                    break;
            }
        }

        _ignored.Warn(null, "Ignored a message from the transmitter: {Reason}", $"{(char)encoding} {CommandNames.Of(command)}: {error ?? "not a command for cells"}");
    }

    /// <summary><c>ERRR</c>: to the request it answers, to the session, to the publish it refuses, or as a notice.</summary>
    private void HandleError(ErrorMessage error)
    {
        var code = error.Code;
        var message = error.Message;
        var isEvent = error.RefusedCommand == "EVNT";
        var request = _parts.Requests.TryTake(error.Ref, out var found) ? found : null;
        if (request?.Command == Command.Helo)
        {
            _parts.Session.HelloRefused(code, message);
            return;
        }

        if (code == ThynapseErrorCode.NotWelcomed)
        {
            if (isEvent && error.Count is > 0 and var count)
            {
                _parts.Signals.Notify(new CellNotice(CellNoticeKind.PublishRejected,
                    $"{count} events (#{error.First ?? 0} to #{error.Last ?? 0}) reached a transmitter that had ended this cell's session and were not routed")
                {
                    Code = code,
                    Count = count,
                });
            }

            // The transmitter does not know us (it dropped us as silent): re-join. The request is asked again then.
            if (request is not null)
            {
                _parts.Requests.Park(request);
            }

            _parts.Session.Lost("the transmitter does not know this cell any more");
            return;
        }

        if (request is not null)
        {
            request.Reply.TrySetException(new ThynapseRejectedException(code, message));
            return;
        }

        if (isEvent && error.Seq is { } sequence)
        {
            if (!_parts.Publishes.TryFail(sequence, new ThynapseRejectedException(code, message)))
            {
                _parts.Signals.Notify(new CellNotice(CellNoticeKind.PublishRejected, $"Event #{sequence} was refused: {ErrorCodeNames.Of(code)}: {message}")
                {
                    Code = code,
                    Sequence = sequence,
                });
            }

            return;
        }

        _parts.Signals.Notify(new CellNotice(CellNoticeKind.TransmitterError, $"The transmitter reported {ErrorCodeNames.Of(code)}: {message}") { Code = code });
    }

    /// <summary><c>SLOW</c>: what the transmitter dropped for this cell (PROTOCOL.md §5.10).</summary>
    private void HandleSlow(SlowMessage slow)
    {
        if (slow.Missed > 0)
        {
            _parts.Signals.Notify(new CellNotice(CellNoticeKind.MissedEvents,
                $"The transmitter dropped {slow.Missed} events for this cell because it did not keep up ({slow.Total} in all)")
            {
                Count = slow.Missed,
            });
        }

        if (slow.Replies > 0)
        {
            _parts.Signals.Notify(new CellNotice(CellNoticeKind.MissedEvents,
                $"The transmitter dropped {slow.Replies} answers or confirmations for this cell because it did not read them; requests waiting for them time out"));
        }
    }

    private static bool IsBinaryDeliveries(ReadOnlySpan<byte> frame) => frame.Length > FrameHeader.PayloadOffset && frame.StartsWith("B DLVR "u8);

    /// <summary>
    /// Takes a received frame's buffer out of the message without returning it to NetMQ's pool: the events read
    /// from it keep referring to it, so nothing is copied (a <see cref="FrameLease"/> gives it back once the
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

    private static void Release(ref Msg msg)
    {
        msg.Close();
        msg.InitEmpty();
    }
}

/// <summary>The engines inbound frames go to (see <see cref="InboundDispatch"/>).</summary>
internal sealed record InboundParts(
    SessionEngine Session,
    CellSignals Signals,
    Outbox Outbox,
    RequestTable Requests,
    Deliveries Deliveries,
    Watches Watches,
    PublishBuffer Publishes);
