using Newtonsoft.Json.Linq;
using Thynapse.Cell.Internal;
using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Cell;

// Joining, heartbeats and re-joining. Everything in this file runs on the socket thread, which owns the link and
// every field written here.
//
// One session at a time, one link (DEALER socket) per attempt at a session: a lost session closes its link and the
// cell joins again on a new one, with one HELO waiting for its answer at a time. Requests made while there is no
// session wait for the next welcome (within their timeout), and so do publishes (within MaxPendingPublishBytes).
public sealed partial class Cell
{
    /// <summary>First pause before opening a new link or re-sending a refused HELO; it doubles up to <see cref="MaxRetryMs"/>.</summary>
    private const long FirstRetryMs = 100;

    /// <summary>The longest pause between two attempts to join.</summary>
    private const long MaxRetryMs = 2000;

    private TaskCompletionSource<JObject>? _firstWelcome;
    private long _lastHeard;
    private long _nextAttemptAt;
    private long _retryMs = FirstRetryMs;
    private long _heartbeatMs = 1000;
    private long _livenessMs = 5000;
    private int _maxFrameBytes = 1024 * 1024;
    private string? _resumeToken;
    private bool _everWelcomed;
    private bool _helloRefused;
    private TaskCompletionSource<JObject>? _goodbye;
    private JoinAttempts _attempts;


    private Task<JObject> StartAsync()
    {
        _frame.InitEmpty();
        _body.InitEmpty();
        _extra.InitEmpty();
        _firstWelcome = new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread.Start();
        Work(() =>
        {
            _thread.TickInterval = (int)FirstRetryMs;
            Attempt();
        });
        return _firstWelcome.Task;
    }

    /// <summary>
    /// Any thread: asks the transmitter (see <see cref="RequestTable.AskAsync"/>).
    /// </summary>
    /// <param name="command">The command.</param>
    /// <param name="payload">Its payload (the <c>ref</c> is added).</param>
    /// <param name="beforeSending">Run on the socket thread before the request is first submitted.</param>
    /// <param name="answered">
    /// Run on the socket thread with the <c>OKAY</c>, before the task completes: answers are applied in the order they
    /// came, not in the order their continuations happen to run.
    /// </param>
    /// <param name="cancellationToken">Stops waiting (the answer, if it comes, is ignored).</param>
    private Task<JObject> RequestAsync(Command command, JObject payload, Action? beforeSending = null, Action<JObject>? answered = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _requests.AskAsync(new Request(command, payload) { Answered = answered }, beforeSending, cancellationToken);
    }

    /// <summary>Socket thread: requests sent and waiting for their answer (tests check that none is forgotten there).</summary>
    internal int RequestsWaiting => _requests.Waiting;

    private void SendHello()
    {
        // The subscriptions we hold ride along, as many as fit a modest header; the rest follow as SUBS.
        var subs = _subscriptions.ForHello();

        var hello = new JObject
        {
            ["id"] = Id.ToString(),
            ["service"] = _options.Service,
            ["protocol"] = 1,
            ["encodings"] = new JArray("B", "J"),
            ["metadata"] = _profile.Metadata.DeepClone(),
            ["tags"] = new JArray(_profile.Tags),
            ["subs"] = subs,
            ["credit"] = true,
        };
        if (_resumeToken is not null)
        {
            hello["resume"] = _resumeToken;
        }

        _helloRefused = false;
        _link!.HelloSentAt = Now();
        var request = new Request(Command.Helo, hello);
        _requests.Send(request);
        _link.HelloRef = request.Ref; // the link forgets it when it closes unanswered (review finding 13)
    }

    private Task<JObject> LeaveAsync()
    {
        var goodbye = new TaskCompletionSource<JObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Work(() =>
            {
                _outbox.Leave();
                _goodbye = goodbye;
                Send(JsonPayload.Frame(Command.Gbye, []));
            }))
        {
            goodbye.TrySetCanceled();
        }

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
                    _deliveries.Binary(Deliveries.CopyOf(header), FrameHeader.PayloadOffset); // not the hot path (see OnReceiveReady)
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
                    _deliveries.Json(json, body);
                    return;
                case Command.Acpt:
                    _publishes.TryAnswer(json.Value<ulong>("seq"), new PublishAnswer(json.Value<int>("receivers") > 0 ? PublishStatus.Accepted : PublishStatus.NoReceiver, json.Value<int>("receivers")));
                    return;
                case Command.Done:
                    HandleJsonCompletion(json);
                    return;
                case Command.Wlcm:
                    HandleWelcome(json);
                    return;
                case Command.Okay:
                    _requests.Answer(json);
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
                    _watches.Notice(json);
                    return;
                case Command.Slow:
                    HandleSlow(json);
                    return;
                case Command.Cred:
                    HandleCredit(json);
                    return;
            }
        }

        _log.Warning("Ignored {Encoding} {Command} from the transmitter: {Reason}", (char)encoding, CommandNames.Of(command), error ?? "not a command for cells");
    }

    private void HandleWelcome(JObject welcome)
    {
        var request = _requests.TryTake(welcome, out var found) ? found : null;
        if (_link is not { Welcomed: false } link || !Thid.TryParse(welcome.Value<string>("id"), out var transmitterId))
        {
            _log.Warning("Ignored a WLCM that answers no HELO of this link: {Welcome}", welcome);
            return;
        }

        link.Welcomed = true;
        link.HelloSentAt = 0;
        _acknowledgements.BeginSession(link.Number);
        Volatile.Write(ref _transmitter, new TransmitterInfo(transmitterId, welcome.Value<string>("pub")));
        _resumeToken = welcome.Value<string>("session");
        _heartbeatMs = Math.Max(10, welcome.Value<long?>("heartbeat") ?? _heartbeatMs);
        _livenessMs = Math.Max(_heartbeatMs * 2, welcome.Value<long?>("liveness") ?? _livenessMs);
        _thread.MaxClockStep = TimeSpan.FromMilliseconds(2 * _heartbeatMs); // the timer ticks every heartbeat
        Volatile.Write(ref _maxFrameBytes, welcome["limits"]?.Value<int?>("frame") ?? _maxFrameBytes);
        _publishes.BatchBytes = Math.Min(_options.BatchBytes, _maxFrameBytes - 1024);
        if (welcome["defaults"] is JObject defaults && defaults.Value<long?>("ackTimeout") is { } ackTimeout)
        {
            _acknowledgements.DefaultAckTimeoutMs = ackTimeout;
        }

        _lastHeard = Now();
        Welcomed(welcome["resumed"] as JObject, welcome["credit"]?.Type == JTokenType.Integer ? welcome.Value<long>("credit") : null);
        request?.Reply.TrySetResult(welcome);
        _firstWelcome?.TrySetResult(welcome);
    }

    /// <summary>A session exists (new, or taken over with the resume token): settle what waited for it and get going.</summary>
    /// <param name="resumed"><c>WLCM.resumed</c>: what the session taken over missed.</param>
    /// <param name="credit"><c>WLCM.credit</c>: the first publishing credit (null: the transmitter does not pace this cell).</param>
    private void Welcomed(JObject? resumed, long? credit)
    {
        var reconnected = _everWelcomed;
        _everWelcomed = true;
        _retryMs = FirstRetryMs;
        _thread.TickInterval = (int)_heartbeatMs;

        // Subscriptions that did not fit the HELO follow as SUBS; requests that waited for this session follow them.
        _subscriptions.FollowHello();
        if (reconnected)
        {
            _subscriptions.DropGone();
            _watches.Resume();
        }

        foreach (var request in _requests.TakeParked())
        {
            if (!_subscriptions.Settle(request))
            {
                _requests.Send(request);
            }
        }

        if (reconnected)
        {
            Notify(new CellNotice(CellNoticeKind.Reconnected, $"Welcomed again by transmitter {TransmitterId} with {_subscriptions.Routes.Count} subscriptions"));
        }

        if (resumed is not null && resumed.Value<long>("missed") is > 0 and var missed)
        {
            var ended = resumed.Value<string>("ended") switch
            {
                "silent" => "after it was silent for the liveness timeout",
                "not_reading" => "because it stopped reading",
                "disconnected" => "when its connection closed",
                _ => null,
            };
            Notify(new CellNotice(CellNoticeKind.MissedEvents, ended is null
                ? $"The transmitter dropped {missed} events for this cell before it re-joined"
                : $"The transmitter ended this cell's session {ended}; {missed} events for it were dropped before it re-joined {resumed.Value<long>("away")} ms later")
            {
                Count = missed,
            });
        }

        SetState(CellState.Connected);
        _outbox.Open(credit);
    }

    private void HandleError(JObject error)
    {
        var code = (ThynapseErrorCode)(error.Value<int?>("code") ?? (int)ThynapseErrorCode.InternalError);
        var message = error.Value<string>("message") ?? "";
        var command = error.Value<string>("command");
        var request = _requests.TryTake(error, out var found) ? found : null;
        if (request?.Command == Command.Helo)
        {
            if (!_everWelcomed)
            {
                _firstWelcome?.TrySetException(new ThynapseRejectedException(code, message));
                return;
            }

            // Re-joining was refused (ID_IN_USE while the old session is still being ended, SHUTTING_DOWN, …): ask
            // again on this link after a pause.
            _log.Information("Re-joining was refused ({Code}: {Reason}); retrying in {Delay} ms", ErrorCodeNames.Of(code), message, _retryMs);
            _helloRefused = true;
            _link!.HelloSentAt = 0;
            ScheduleAttempt();
            return;
        }

        if (code == ThynapseErrorCode.NotWelcomed)
        {
            if (command == "EVNT" && error.Value<int?>("count") is > 0)
            {
                Notify(new CellNotice(CellNoticeKind.PublishRejected,
                    $"{error.Value<int>("count")} events (#{error.Value<ulong>("first")} to #{error.Value<ulong>("last")}) reached a transmitter that had ended this cell's session and were not routed")
                {
                    Code = code,
                    Count = error.Value<int>("count"),
                });
            }

            // The transmitter does not know us (it dropped us as silent): re-join. The request is asked again then.
            if (request is not null)
            {
                _requests.Park(request);
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

    private void HandleSlow(JObject slow)
    {
        var missed = slow.Value<long>("missed");
        var replies = slow.Value<long?>("replies") ?? 0;
        if (missed > 0)
        {
            Notify(new CellNotice(CellNoticeKind.MissedEvents,
                $"The transmitter dropped {missed} events for this cell because it did not keep up ({slow.Value<long>("total")} in all)")
            {
                Count = missed,
            });
        }

        if (replies > 0)
        {
            Notify(new CellNotice(CellNoticeKind.MissedEvents,
                $"The transmitter dropped {replies} answers or confirmations for this cell because it did not read them; requests waiting for them time out"));
        }
    }

    /// <summary><c>CRED</c>: more publishing credit (PROTOCOL.md §8.4); events that waited for it go out.</summary>
    private void HandleCredit(JObject credit) => _outbox.AddCredit(credit.Value<long>("credit"));

    /// <summary>
    /// The session is lost: close its link and join again on a new one. Publishes handed to the socket that await only
    /// acceptance fail (their outcome is unknown); those awaiting completion are resent after the welcome; buffered ones
    /// wait for it; requests waiting for an answer are asked again then.
    /// </summary>
    private void SessionLost(string reason)
    {
        if (CurrentState != CellState.Connected || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        SetState(CellState.Reconnecting);
        Notify(new CellNotice(CellNoticeKind.ConnectionLost, $"Lost the session with transmitter {TransmitterId}: {reason}; re-joining"));
        CloseLink(TimeSpan.Zero); // first: batches its socket had not taken go back to their queues
        _publishes.SessionLost(new ThynapseConnectionException(
            $"The session with the transmitter was lost ({reason}) before it confirmed the event; it may or may not have been routed."));
        _acknowledgements.EndSession(); // the tags were the lost session's: the transmitter redelivers those events
        _requests.SessionLost(); // asked again in the next session, in the order they were made
        _attempts = default;
        _retryMs = FirstRetryMs;
        _nextAttemptAt = 0; // at once: the first attempt needs no pause
        _thread.TickInterval = (int)FirstRetryMs;
        Attempt();
    }

    /// <summary>Opens a new link and says HELO on it, or says HELO again on the link after a refusal.</summary>
    private void Attempt()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (_link is null)
        {
            try
            {
                OpenLink();
            }
            catch (Exception ex)
            {
                LinkNotOpened(ex);
                ScheduleAttempt();
                return;
            }
        }

        SendHello();
    }

    /// <summary>
    /// No link could be opened: NetMQ has no socket left (the first connection fails at once: more attempts cannot
    /// help), or the host does not resolve (it may yet: a name registered late), or something else went wrong. Each
    /// kind is remembered for <see cref="JoinDiagnosis"/>; the next attempt follows after a pause.
    /// </summary>
    private void LinkNotOpened(Exception ex)
    {
        _attempts.LastFailure = ex.Message;
        switch (ex)
        {
            case NetMQ.NetMQException:
                // Each cell takes about seven of the process's NetMQ sockets (its DEALER, the monitor watching it, the
                // queues of its socket thread): past NetMQConfig.MaxSockets (1,024 by default) none can be opened.
                var failure = new ThynapseConnectionException(
                    $"Could not open a socket towards {_options.Transmitter}: {ex.Message}. A process with many cells may need a higher NetMQConfig.MaxSockets (now {NetMQ.NetMQConfig.MaxSockets}; each cell takes about 7).", ex);
                _log.Error(failure, "Could not open a link");
                _firstWelcome?.TrySetException(failure);
                break;
            case System.Net.Sockets.SocketException:
                if (_attempts.Unresolved++ == 0)
                {
                    _log.Warning("Could not resolve host {Host} of {Endpoint} ({Reason}); retrying", HostOf(_options.Transmitter), _options.Transmitter, ex.Message);
                }

                break;
            default:
                _attempts.Failures++;
                _log.Error(ex, "Could not open a link towards {Endpoint}", _options.Transmitter);
                break;
        }
    }

    /// <summary>The host of a <c>tcp://host:port</c> endpoint (validated by <see cref="CellOptions"/>).</summary>
    private static string HostOf(string endpoint)
    {
        var hostAndPort = endpoint.StartsWith("tcp://", StringComparison.Ordinal) ? endpoint[6..] : endpoint;
        var colon = hostAndPort.LastIndexOf(':');
        return colon < 0 ? hostAndPort : hostAndPort[..colon];
    }

    /// <summary>The next attempt to join waits a little longer each time, with jitter so that many cells do not retry together.</summary>
    private void ScheduleAttempt()
    {
        _nextAttemptAt = Now() + (_retryMs / 2) + Random.Shared.NextInt64(_retryMs / 2 + 1);
        _retryMs = Math.Min(_retryMs * 2, MaxRetryMs);
    }

    private void OnConnected(Link link)
    {
        link.Connected = true;
        _attempts.Connections++;
    }

    private void OnConnectRetried(Link link) => _attempts.Refusals++;

    private void OnDisconnected(Link link)
    {
        link.Connected = false;
        if (!ReferenceEquals(link, _link))
        {
            return;
        }

        if (link.Welcomed)
        {
            SessionLost("its connection closed");
            return;
        }

        // Closed before a welcome: the peer refused us (it is not a transmitter's command port, or it shuts down), or
        // it died with our HELO. A HELO is not resent on the same socket, so try again on a new link after a pause.
        _attempts.ClosedBeforeWelcome++;
        CloseLink(TimeSpan.Zero);
        ScheduleAttempt();
    }

    private void OnTimer()
    {
        // Read what already arrived first: an answer waiting in the socket means the transmitter is not silent.
        OnReceiveReady(null, null);
        var now = Now();
        var state = CurrentState;
        if (state == CellState.Connected)
        {
            // Alive while it answers (any frame from it), or while a full send queue keeps draining: a busy publisher's
            // BEAT waits behind its own events (the socket's queue, TCP buffers, the transmitter's inbound queue), so
            // its answer can take longer than the liveness window while the transmitter is plainly reading this
            // connection. Only room made in a full queue counts, never a send the kernel merely buffered: a stopped
            // transmitter's kernel takes a slow publisher's events for ever (review finding 17b, PROTOCOL.md §4.4).
            // Time this thread itself did not run is not counted (StallAwareClock).
            if (now - Math.Max(_lastHeard, _outbox.LastTaken) > _livenessMs)
            {
                SessionLost($"nothing heard for {now - _lastHeard} ms");
            }
            else
            {
                Send(JsonPayload.Frame(Command.Beat, []));
            }
        }
        else if (state is CellState.Connecting or CellState.Reconnecting && Volatile.Read(ref _disposed) == 0)
        {
            if (_link is null || _helloRefused)
            {
                if (now >= _nextAttemptAt)
                {
                    Attempt();
                }
            }
            else if (_link.Connected && _link.HelloSentAt != 0 && now - _link.HelloSentAt > _livenessMs)
            {
                // Connected but unanswered (the transmitter is stopped, or the path lost our HELO): try a new link.
                _attempts.Unanswered++;
                CloseLink(TimeSpan.Zero);
                ScheduleAttempt();
            }
        }

        _subscriptions.ReportDrops();
    }

    /// <summary>Why the first connection did not succeed, for <see cref="ConnectAsync"/>'s timeout (a newcomer's first mistake).</summary>
    private string JoinDiagnosis(TimeSpan waited)
    {
        var attempts = _attempts;
        var endpoint = _options.Transmitter;
        if (attempts.Connections == 0 && attempts.Unresolved > 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): could not resolve host '{HostOf(endpoint)}' in CellOptions.Transmitter " +
                $"({attempts.Unresolved} attempts; {attempts.LastFailure}). Check the host name, or give the transmitter's IP address.";
        }

        if (attempts.Connections == 0 && attempts.Failures > 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): could not open a socket towards it ({attempts.Failures} attempts; {attempts.LastFailure}).";
        }

        if (attempts.Connections == 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): no TCP connection could be made" +
                (attempts.Refusals > 0 ? $" ({attempts.Refusals} attempts were refused)" : "") +
                $". Is a transmitter running at {endpoint}? Start one with 'dotnet run --project transmitter/Thynapse.Transmitter.Host', or set CellOptions.Transmitter to its command endpoint.";
        }

        if (attempts.ClosedBeforeWelcome > 0)
        {
            return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): the peer closed the connection {attempts.ClosedBeforeWelcome} times before answering HELO. " +
                "Is that the transmitter's command endpoint (--command, default port 4710)? Its events endpoint (--events, default 4711) and other ZeroMQ sockets refuse cells.";
        }

        return $"No welcome from {endpoint} within {waited} (CellOptions.ConnectTimeout): connected, but HELO got no answer. " +
            "The peer may be a stopped or overloaded transmitter, or not a Thynapse transmitter at all.";
    }

    /// <summary>What attempts to join met since the last welcome: connections made, refused, closed before a welcome, unanswered; links not opened.</summary>
    private struct JoinAttempts
    {
        public int Connections;
        public int Refusals;
        public int ClosedBeforeWelcome;
        public int Unanswered;
        public int Unresolved;
        public int Failures;
        public string? LastFailure;
    }
}
