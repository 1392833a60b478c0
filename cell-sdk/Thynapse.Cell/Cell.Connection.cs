using Thynapse.Cell.Internal;
using NetMQ;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell;

// The socket thread: joining, heartbeats, re-joining, and getting frames in and out. Everything in this file
// runs on the poller's thread, which owns _dealer and every field written here.
public sealed partial class Cell
{
    private const int ReceiveBudget = 4096;

    private readonly Dictionary<long, Request> _requests = [];
    private readonly Queue<Outgoing> _outbox = new();
    private Msg _frame;
    private Msg _body;
    private Msg _extra;
    private long _nextRef;
    private long _lastHeard;
    private long _helloSentAt;
    private long _heartbeatMs = 1000;
    private long _livenessMs = 5000;
    private int _maxFrameBytes = 1024 * 1024;
    private string? _resumeToken;
    private bool _everWelcomed;
    private bool _sendReadyWatched;
    private TaskCompletionSource<JObject>? _goodbye;

    private Task<JObject> StartAsync()
    {
        _frame.InitEmpty();
        _body.InitEmpty();
        _extra.InitEmpty();
        var welcome = new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _dealer.Connect(_options.Transmitter);
        _poller.RunAsync("thynapse-cell", isBackgroundThread: true);
        _work.Enqueue(() => SendHello(welcome));
        return welcome.Task;
    }

    /// <summary>
    /// Sends a J command with a fresh <c>ref</c> and completes with the reply (OKAY, WLCM, …), fails with its ERRR, or
    /// fails with <see cref="ThynapseTimeoutException"/> after <see cref="CellOptions.RequestTimeout"/>.
    /// </summary>
    private async Task<JObject> RequestAsync(Command command, JObject payload, Action? beforeSending = null)
    {
        try
        {
            return await SendRequestAsync(command, payload, beforeSending).WaitAsync(_options.RequestTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new ThynapseTimeoutException($"No answer to {CommandNames.Of(command)} within {_options.RequestTimeout}.");
        }
    }

    private Task<JObject> SendRequestAsync(Command command, JObject payload, Action? beforeSending)
    {
        if (Volatile.Read(ref _disposed) != 0 && command != Command.Gbye)
        {
            ThynapseException.ThrowClosed();
        }

        var reply = new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Enqueue(() =>
        {
            beforeSending?.Invoke();
            SendRequest(command, payload, reply);
        });
        return reply.Task;
    }

    private void SendRequest(Command command, JObject payload, TaskCompletionSource<JObject> reply)
    {
        var reference = ++_nextRef;
        payload["ref"] = reference;
        _requests[reference] = new Request(command, reply);
        Send(JsonPayload.Frame(command, payload));
    }

    private void SendHello(TaskCompletionSource<JObject>? reply = null)
    {
        var subs = new JArray();
        foreach (var subscription in _routes.All)
        {
            subs.Add(subscription.ToWire());
        }

        var hello = new JObject
        {
            ["id"] = Id.ToString(),
            ["service"] = _options.Service,
            ["protocol"] = 1,
            ["encodings"] = new JArray("B", "J"),
            ["metadata"] = _options.Metadata?.DeepClone() ?? new JObject(),
            ["subs"] = subs,
        };
        if (_resumeToken is not null)
        {
            hello["resume"] = _resumeToken;
        }

        _helloSentAt = Environment.TickCount64;
        SendRequest(Command.Helo, hello, reply ?? new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    private Task<JObject> LeaveAsync()
    {
        var goodbye = new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Enqueue(() =>
        {
            FlushPublishes();
            _goodbye = goodbye;
            Send(JsonPayload.Frame(Command.Gbye, []));
        });
        return goodbye.Task;
    }

    private void OnReceiveReady(object? sender, NetMQSocketEventArgs e)
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
                Handle(_frame.Slice(), hasBody ? _body.Slice() : default);
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
                    HandleDeliveries(payload);
                    return;
                case Command.Acpt:
                    HandleAccepts(payload);
                    return;
                case Command.Done:
                    HandleCompletions(payload);
                    return;
            }
        }
        else if (JsonPayload.TryParse(payload, out var json, out error))
        {
            switch (command)
            {
                case Command.Dlvr:
                    HandleJsonDelivery(json, body);
                    return;
                case Command.Acpt:
                    _publishes.TryAnswer(json.Value<ulong>("seq"), new PublishAnswer(json.Value<int>("receivers") > 0 ? PublishStatus.Accepted : PublishStatus.NoReceiver, json.Value<int>("receivers")));
                    return;
                case Command.Done:
                    Completed(json.Value<ulong>("seq"), json.Value<int>("receivers"),
                        json.Value<string>("outcome") == "dead_lettered" ? CompletionOutcome.DeadLettered : CompletionOutcome.Completed);
                    return;
                case Command.Wlcm:
                    HandleWelcome(json);
                    return;
                case Command.Okay:
                    CompleteRequest(json);
                    return;
                case Command.Errr:
                    HandleError(json);
                    return;
                case Command.Beat:
                    return;
                case Command.Gbye:
                    HandleGoodbye(json);
                    return;
                case Command.Slow:
                    Notify(new CellNotice(CellNoticeKind.MissedEvents,
                        $"The transmitter dropped {json.Value<long>("missed")} events for this cell because it did not keep up ({json.Value<long>("total")} in all)")
                    {
                        Count = json.Value<long>("missed"),
                    });
                    return;
            }
        }

        _log.Warning("Ignored {Encoding} {Command} from the transmitter: {Reason}", (char)encoding, CommandNames.Of(command), error ?? "not a command for cells");
    }

    private void HandleWelcome(JObject welcome)
    {
        if (!Thid.TryParse(welcome.Value<string>("id"), out var transmitterId))
        {
            _log.Warning("WLCM without a valid transmitter id: {Welcome}", welcome);
            return;
        }

        Volatile.Write(ref _transmitter, new TransmitterInfo(transmitterId, welcome.Value<string>("pub")));
        _resumeToken = welcome.Value<string>("session");
        _heartbeatMs = Math.Max(10, welcome.Value<long?>("heartbeat") ?? _heartbeatMs);
        _livenessMs = Math.Max(_heartbeatMs * 2, welcome.Value<long?>("liveness") ?? _livenessMs);
        _maxFrameBytes = welcome["limits"]?.Value<int?>("frame") ?? _maxFrameBytes;
        _timer.Interval = (int)_heartbeatMs;
        var reconnected = _everWelcomed;
        _everWelcomed = true;

        var reply = welcome["ref"]?.Type == JTokenType.Integer && _requests.Remove(welcome.Value<long>("ref"), out var request) ? request : null;
        if (reconnected)
        {
            // The HELO carried every subscription we hold, so requests still waiting were settled by it.
            foreach (var pending in _requests.Values)
            {
                pending.Reply.TrySetResult([]);
            }

            _requests.Clear();
            Notify(new CellNotice(CellNoticeKind.Reconnected, $"Welcomed again by transmitter {transmitterId} with {_routes.Count} subscriptions"));
        }

        SetState(CellState.Connected);
        reply?.Reply.TrySetResult(welcome);
        FlushPublishes();
    }

    private void HandleError(JObject error)
    {
        var code = (ThynapseErrorCode)(error.Value<int?>("code") ?? (int)ThynapseErrorCode.InternalError);
        var message = error.Value<string>("message") ?? "";
        var command = error.Value<string>("command");
        if (code == ThynapseErrorCode.NotWelcomed)
        {
            // The transmitter does not know us (it restarted, or dropped us as silent): re-join. Requests caught in
            // this stay pending; the HELO settles them.
            SessionLost("the transmitter does not know this cell any more");
            return;
        }

        if (error["ref"]?.Type == JTokenType.Integer && _requests.Remove(error.Value<long>("ref"), out var request))
        {
            if (request.Command == Command.Helo && _everWelcomed && code is ThynapseErrorCode.AlreadyWelcomed)
            {
                return; // a duplicate HELO from a re-join; the first one was welcomed
            }

            request.Reply.TrySetException(new ThynapseRejectedException(code, message));
            return;
        }

        if (command == "EVNT" && error["seq"]?.Type == JTokenType.Integer)
        {
            var sequence = error.Value<ulong>("seq");
            if (!_publishes.TryFail(sequence, new ThynapseRejectedException(code, message)))
            {
                Notify(new CellNotice(CellNoticeKind.PublishRejected, $"Event #{sequence} was refused: {ErrorCodeNames.Of(code)}: {message}")
                {
                    Code = code,
                    Sequence = sequence,
                });
            }

            return;
        }

        Notify(new CellNotice(CellNoticeKind.TransmitterError, $"The transmitter reported {ErrorCodeNames.Of(code)}: {message}") { Code = code });
    }

    private void HandleGoodbye(JObject goodbye)
    {
        if (_goodbye is { } leaving)
        {
            leaving.TrySetResult(goodbye);
            return;
        }

        SessionLost($"the transmitter said goodbye ({goodbye.Value<string>("reason") ?? "no reason"})");
    }

    private void CompleteRequest(JObject reply)
    {
        if (reply["ref"]?.Type == JTokenType.Integer && _requests.Remove(reply.Value<long>("ref"), out var request))
        {
            request.Reply.TrySetResult(reply);
        }
    }

    private void SessionLost(string reason)
    {
        if (CurrentState == CellState.Connected)
        {
            SetState(CellState.Reconnecting);
            Notify(new CellNotice(CellNoticeKind.ConnectionLost, $"Lost the session with transmitter {TransmitterId}: {reason}; re-joining"));
            _publishes.SessionLost(new ThynapseConnectionException(
                $"The session with the transmitter was lost ({reason}) before it confirmed the event; it may or may not have been routed."));
            SendHello();
        }
    }

    private void OnTimer()
    {
        var now = Environment.TickCount64;
        var state = CurrentState;
        if (state == CellState.Connected)
        {
            if (now - _lastHeard > _livenessMs)
            {
                SessionLost($"nothing heard for {now - _lastHeard} ms");
            }
            else
            {
                Send(JsonPayload.Frame(Command.Beat, []));
            }
        }
        else if (state is CellState.Reconnecting && now - _helloSentAt > _livenessMs)
        {
            SendHello();
        }

        foreach (var subscription in _routes.All)
        {
            var dropped = subscription.TakeUnreportedDrops();
            if (dropped > 0)
            {
                Notify(new CellNotice(CellNoticeKind.SlowConsumer,
                    $"Subscription {subscription} dropped {dropped} events: its observers are not keeping up ({subscription.Dropped} in all)")
                {
                    Count = dropped,
                    Pattern = subscription.Pattern,
                });
            }
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
        }

        return sent;
    }

    private void OnSendReady(object? sender, NetMQSocketEventArgs e)
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
    }

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

    private void FailRequests(Exception error)
    {
        // Called after the socket thread stopped: nothing else touches _requests any more.
        foreach (var request in _requests.Values)
        {
            request.Reply.TrySetException(error);
        }

        _requests.Clear();
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

    private sealed record Request(Command Command, TaskCompletionSource<JObject> Reply);

    /// <summary>A frame waiting for the socket: a control frame, or a batch to give back to its queue once sent.</summary>
    private readonly record struct Outgoing(byte[]? Frame, FrameBatch? Batch, Internal.FrameQueue? Owner);
}
