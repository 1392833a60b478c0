using Newtonsoft.Json.Linq;
using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

// Joining, heartbeats and re-joining. Everything in this file runs on the socket thread, which owns _dealer and
// every field written here.
public sealed partial class Cell
{
    /// <summary>Bytes of subscriptions carried in one HELO; the rest follow as SUBS once welcomed (PROTOCOL.md §5.1).</summary>
    private const int HelloSubscriptionBudget = 32 * 1024;

    /// <summary>First pause before re-sending a refused or unanswered HELO; it doubles up to the liveness timeout.</summary>
    private const long FirstHelloRetryMs = 100;

    private readonly Dictionary<long, Request> _requests = [];
    private readonly HashSet<uint> _helloSubscriptions = [];
    private readonly List<CellSubscription> _subscriptionsAfterWelcome = [];
    private long _nextRef;
    private long _lastHeard;
    private long _nextHelloAt;
    private long _helloRetryMs = FirstHelloRetryMs;
    private long _heartbeatMs = 1000;
    private long _livenessMs = 5000;
    private int _maxFrameBytes = 1024 * 1024;
    private string? _resumeToken;
    private bool _everWelcomed;
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
        if (Volatile.Read(ref _disposed) != 0 && command != Command.Gbye)
        {
            ThynapseException.ThrowClosed();
        }

        var request = new Request(command, new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously));
        _work.Enqueue(() =>
        {
            beforeSending?.Invoke();
            SendRequest(payload, request);
        });
        try
        {
            return await request.Reply.Task.WaitAsync(_options.RequestTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _work.Enqueue(() => _requests.Remove(request.Ref));
            throw new ThynapseTimeoutException($"No answer to {CommandNames.Of(command)} within {_options.RequestTimeout}.");
        }
    }

    private void SendRequest(JObject payload, Request request)
    {
        request.Ref = ++_nextRef;
        payload["ref"] = request.Ref;
        _requests[request.Ref] = request;
        Send(JsonPayload.Frame(request.Command, payload));
    }

    private void SendHello(TaskCompletionSource<JObject>? reply = null)
    {
        // The subscriptions we hold ride along, as many as fit a modest header; the rest follow as SUBS.
        var subs = new JArray();
        var budget = HelloSubscriptionBudget;
        _helloSubscriptions.Clear();
        _subscriptionsAfterWelcome.Clear();
        foreach (var subscription in _routes.All)
        {
            var wire = subscription.ToWire();
            var size = 96 + subscription.Pattern.Length;
            if (size <= budget)
            {
                budget -= size;
                subs.Add(wire);
                _helloSubscriptions.Add(subscription.Id);
            }
            else
            {
                _subscriptionsAfterWelcome.Add(subscription);
            }
        }

        var hello = new JObject
        {
            ["id"] = Id.ToString(),
            ["service"] = _options.Service,
            ["protocol"] = 1,
            ["encodings"] = new JArray("B", "J"),
            ["metadata"] = Volatile.Read(ref _metadata).DeepClone(),
            ["tags"] = new JArray(Volatile.Read(ref _tags)),
            ["subs"] = subs,
        };
        if (_resumeToken is not null)
        {
            hello["resume"] = _resumeToken;
        }

        _nextHelloAt = Environment.TickCount64 + _helloRetryMs;
        _helloRetryMs = Math.Min(_helloRetryMs * 2, _livenessMs);
        SendRequest(hello, new Request(Command.Helo, reply ?? new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously)));
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
                    HandleDeliveries(CopyOf(header), FrameHeader.PayloadOffset); // not the hot path (see OnReceiveReady)
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
                case Command.Cell:
                    HandleCellNotice(json);
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
        Volatile.Write(ref _maxFrameBytes, welcome["limits"]?.Value<int?>("frame") ?? _maxFrameBytes);
        _publishes.BatchBytes = Math.Min(_options.BatchBytes, _maxFrameBytes - 1024);

        var reply = welcome["ref"]?.Type == JTokenType.Integer && _requests.Remove(welcome.Value<long>("ref"), out var request) ? request : null;
        Welcomed();
        reply?.Reply.TrySetResult(welcome);
    }

    /// <summary>A session exists (new, or found still alive): settle what waited for it and get going.</summary>
    private void Welcomed()
    {
        var reconnected = _everWelcomed;
        _everWelcomed = true;
        _helloRetryMs = FirstHelloRetryMs;
        _timer.Interval = (int)_heartbeatMs;
        if (reconnected)
        {
            // The HELO carried the subscriptions we hold, so requests still waiting were settled by it.
            foreach (var pending in _requests.Values.Where(r => r.Command is Command.Subs or Command.Unsb).ToList())
            {
                _requests.Remove(pending.Ref);
                pending.Reply.TrySetResult([]);
            }

            // Those that did not fit follow; those dropped since the HELO left are dropped at the transmitter too.
            foreach (var subscription in _subscriptionsAfterWelcome.Where(s => _routes.TryGet(s.Id, out _)))
            {
                SendRequest(subscription.ToWire(), new Request(Command.Subs, new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously)));
            }

            foreach (var id in _helloSubscriptions.Where(id => !_routes.TryGet(id, out _)))
            {
                Send(JsonPayload.Frame(Command.Unsb, new JObject { ["sub"] = id }));
            }

            ResumeWatches();

            Notify(new CellNotice(CellNoticeKind.Reconnected, $"Welcomed again by transmitter {TransmitterId} with {_routes.Count} subscriptions"));
        }

        SetState(CellState.Connected);
        FlushPublishes();
    }

    private void HandleError(JObject error)
    {
        var code = (ThynapseErrorCode)(error.Value<int?>("code") ?? (int)ThynapseErrorCode.InternalError);
        var message = error.Value<string>("message") ?? "";
        var command = error.Value<string>("command");
        var request = error["ref"]?.Type == JTokenType.Integer && _requests.Remove(error.Value<long>("ref"), out var found) ? found : null;
        if (request?.Command == Command.Helo && _everWelcomed)
        {
            if (code == ThynapseErrorCode.AlreadyWelcomed)
            {
                // We thought the session lost, but the transmitter still holds it on this connection: carry on.
                Welcomed();
            }
            else
            {
                _log.Information("Re-joining was refused ({Code}: {Reason}); retrying in {Delay} ms", ErrorCodeNames.Of(code), message, _helloRetryMs);
                _nextHelloAt = Environment.TickCount64 + _helloRetryMs;
            }

            return;
        }

        if (code == ThynapseErrorCode.NotWelcomed)
        {
            if (command == "EVNT" && error.Value<int?>("count") is > 0)
            {
                Notify(new CellNotice(CellNoticeKind.PublishRejected,
                    $"{error.Value<int>("count")} events (#{error.Value<ulong>("first")} to #{error.Value<ulong>("last")}) reached the transmitter after the session was lost and were not routed")
                {
                    Code = code,
                    Count = error.Value<int>("count"),
                });
            }

            // The transmitter does not know us (it restarted, or dropped us as silent): re-join. Subscription
            // requests caught in this stay pending; the HELO settles them.
            if (request is { Command: Command.Subs or Command.Unsb })
            {
                _requests[request.Ref] = request;
            }
            else
            {
                request?.Reply.TrySetException(new ThynapseConnectionException($"The session was lost: {message}"));
            }

            SessionLost("the transmitter does not know this cell any more");
            return;
        }

        if (request is not null)
        {
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
            _timer.Interval = (int)FirstHelloRetryMs; // re-join promptly, backing off while refused
            SendHello();
        }
    }

    private void OnTimer() => Guarded("periodic work", () =>
    {
        // Read what already arrived first: an answer waiting in the socket means the transmitter is not silent.
        OnReceiveReady(this, null);
        var now = Environment.TickCount64;
        var state = CurrentState;
        if (state == CellState.Connected)
        {
            // Alive while it answers, or while it keeps taking the events we send: a busy publisher's BEAT waits behind
            // its own events (the socket's queue, TCP buffers, the transmitter's inbound queue), so its answer can take
            // longer than the liveness window while the transmitter is plainly reading this connection. Those buffers
            // are bounded: a transmitter that stops reading stops taking events soon after (PROTOCOL.md §4.4).
            if (now - Math.Max(_lastHeard, _lastTaken) > _livenessMs)
            {
                SessionLost($"nothing heard for {now - _lastHeard} ms");
            }
            else
            {
                Send(JsonPayload.Frame(Command.Beat, []));
            }
        }
        else if (state is CellState.Reconnecting && now >= _nextHelloAt)
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
    });

    private void FailRequests(Exception error)
    {
        // Called after the socket thread stopped: nothing else touches _requests any more.
        foreach (var request in _requests.Values)
        {
            request.Reply.TrySetException(error);
        }

        _requests.Clear();
    }

    /// <summary>A request waiting for its answer, known by the <c>ref</c> it was sent with.</summary>
    private sealed class Request(Command command, TaskCompletionSource<JObject> reply)
    {
        public Command Command { get; } = command;

        public TaskCompletionSource<JObject> Reply { get; } = reply;

        public long Ref { get; set; }
    }
}
