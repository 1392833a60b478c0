using NetMQ;
using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Joining, heartbeats and re-joining (PROTOCOL.md §4.4): one session at a time, one <see cref="Link"/> per attempt at
/// a session, with one <c>HELO</c> waiting for its answer at a time. A lost session closes its link and the cell joins
/// again on a new one; what waited for a session (requests, publishes, subscriptions that did not fit the
/// <c>HELO</c>) is settled at the welcome. Socket thread, except <see cref="StartAsync"/>, <see cref="LeaveAsync"/>,
/// <see cref="Stop"/> and the properties.
/// </summary>
internal sealed class SessionEngine
{
    /// <summary>First pause before opening a new link or re-sending a refused HELO; it doubles up to <see cref="MaxRetryMs"/>.</summary>
    private const long FirstRetryMs = 100;

    /// <summary>The longest pause between two attempts to join.</summary>
    private const long MaxRetryMs = 2000;

    /// <summary><c>HELO.encodings</c>: the cell reads both (PROTOCOL.md §2.2).</summary>
    private static readonly string[] HelloEncodings = ["B", "J"];

    private readonly SessionParts _parts;
    private readonly SocketThread _thread;
    private readonly CellOptions _options;
    private readonly ILogger _log;
    private readonly LinkEvents _linkEvents;
    private readonly SocketCount _sockets = new();
    private readonly string _linkName;
    private readonly Thid _cellId;
    private TaskCompletionSource<WelcomeMessage>? _firstWelcome;
    private TaskCompletionSource<GoodbyeMessage>? _goodbye;
    private TransmitterTerms _terms = TransmitterTerms.Initial;
    private Link? _link;
    private int _links;
    private long _lastHeard;
    private long _nextAttemptAt;
    private long _retryMs = FirstRetryMs;
    /// <summary>
    /// The token the next HELO carries as <c>resume</c>: the last welcome's, and before the first one a token of the
    /// cell's own making (PROTOCOL.md §5.1), which the transmitter keeps for the new session. So a first HELO answered
    /// on a link the cell had already given up (no answer within the liveness timeout, then a new link) leaves a
    /// departed session whose reserved THID the cell's next HELO claims, instead of ID_RESERVED for the whole reservation.
    /// </summary>
    private string? _resumeToken = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    private (NetMQ.NetMQCertificate Own, byte[] Server)? _curve;
    private bool _everWelcomed;
    private bool _helloRefused;
    private volatile bool _stopped;

    /// <param name="parts">The engines a session settles and feeds.</param>
    /// <param name="cellId">The cell's THID (its HELO's <c>id</c>).</param>
    /// <param name="options">The cell's options.</param>
    /// <param name="log">The cell's log.</param>
    /// <param name="receiveReady">Reads the frames of the current link (the inbound dispatch).</param>
    public SessionEngine(SessionParts parts, Thid cellId, CellOptions options, ILogger log, EventHandler<NetMQSocketEventArgs> receiveReady)
    {
        _parts = parts;
        _thread = parts.Thread;
        _cellId = cellId;
        _options = options;
        _log = log;
        _linkName = $"thynapse-cell-{cellId}";
        Attempts = new JoinAttempts(options.Transmitter, log);
        Plan = new FailoverPlan(options);
        _linkEvents = new LinkEvents(OnConnected, OnConnectRetried, OnDisconnected, receiveReady);
    }

    /// <summary>What the transmitter that welcomed the cell last said (any thread).</summary>
    public TransmitterTerms Terms => Volatile.Read(ref _terms);

    /// <summary>The transmitters known, and where the cell joins next.</summary>
    public FailoverPlan Plan { get; }

    /// <summary>What the attempts to join met since the last welcome.</summary>
    public JoinAttempts Attempts { get; }

    /// <summary>The current link (socket thread; null between two).</summary>
    public Link? Link => _link;

    /// <summary>Links opened so far (any thread).</summary>
    public int LinksOpened => Volatile.Read(ref _links);

    /// <summary>NetMQ sockets of the links not disposed yet (any thread).</summary>
    public int SocketsOpen => _sockets.Open;

    /// <summary>Any thread, once: starts joining; completes with the first welcome, or fails with a refusal.</summary>
    public Task<WelcomeMessage> StartAsync()
    {
        _firstWelcome = new TaskCompletionSource<WelcomeMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread.Post(() =>
        {
            _thread.TickInterval = (int)FirstRetryMs;
            Attempt();
        });
        return _firstWelcome.Task;
    }

    /// <summary>Any thread: the cell is being disposed: no more attempts, and a lost session is not joined again.</summary>
    public void Stop() => _stopped = true;

    /// <summary>After the socket thread stopped: whoever still waits for the first welcome is told.</summary>
    public void FailFirstWelcome(Exception error) => _firstWelcome?.TrySetException(error);

    /// <summary>Socket thread: a frame came from the transmitter: it is alive.</summary>
    public void Heard() => _lastHeard = _thread.Now();

    /// <summary>
    /// Any thread: leaves: everything buffered goes out ahead of <c>GBYE</c> (see <see cref="Outbox.Leave"/>); completes
    /// with the transmitter's <c>GBYE</c>.
    /// </summary>
    public Task<GoodbyeMessage> LeaveAsync()
    {
        var goodbye = new TaskCompletionSource<GoodbyeMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_thread.Post(() =>
            {
                _parts.Outbox.Leave();
                _goodbye = goodbye;
                _parts.Outbox.Send(GoodbyeMessage.Instance.ToFrame());
            }))
        {
            goodbye.TrySetCanceled();
        }

        return goodbye.Task;
    }

    /// <summary>
    /// Closes the current link: the outbox gives back what it had not sent (see <see cref="Outbox.Detach"/>), and a HELO
    /// still waiting for its answer is not answered on another link (review finding 13).
    /// </summary>
    /// <param name="linger">How long the socket may still try to send what it holds (zero when the session is lost).</param>
    public void CloseLink(TimeSpan linger)
    {
        if (_link is not { } link)
        {
            return;
        }

        _link = null;
        _parts.Requests.Forget(link.HelloRef);
        _parts.Outbox.Detach();
        link.Close(linger);
    }

    /// <summary><c>WLCM</c>: the session exists (new, or taken over with the resume token).</summary>
    /// <param name="welcome">The welcome as read.</param>
    /// <param name="payload">Its payload (for the log).</param>
    public void Welcome(WelcomeMessage welcome, JObject payload)
    {
        _parts.Requests.TryTake(welcome.Ref, out _); // the HELO is answered: StartAsync completes below
        if (_link is not { Welcomed: false } link)
        {
            _log.Warning("Ignored a WLCM that answers no HELO of this link: {Welcome}", payload);
            return;
        }

        link.Welcomed = true;
        link.HelloSentAt = 0;
        _parts.Acknowledgements.BeginSession(link.Number);
        var terms = TransmitterTerms.Of(welcome);
        var before = Volatile.Read(ref _terms).Id;
        Volatile.Write(ref _terms, terms);
        _resumeToken = welcome.Session;
        Plan.Learn(welcome.Transmitters);
        _thread.MaxClockStep = TimeSpan.FromMilliseconds(2 * terms.HeartbeatMs); // the timer ticks every heartbeat
        _parts.Publishes.BatchBytes = Math.Min(_options.BatchBytes, terms.MaxFrameBytes - 1024);
        _parts.Acknowledgements.DefaultAckTimeoutMs = welcome.Defaults.AckTimeout;
        _lastHeard = _thread.Now();
        Welcomed(welcome.Resumed, welcome.Credit, before);
        _firstWelcome?.TrySetResult(welcome);
    }

    /// <summary>
    /// The <c>HELO</c> was refused. The first one fails <see cref="StartAsync"/>; a re-joining one (ID_IN_USE while the
    /// old session is still being ended, SHUTTING_DOWN, …) is asked again on this link after a pause.
    /// </summary>
    public void HelloRefused(ThynapseErrorCode code, string message)
    {
        if (code is ThynapseErrorCode.ShuttingDown or ThynapseErrorCode.NotReady)
        {
            // This transmitter cannot take the cell now (it is going away, or has not yet its mesh's snapshot, §5.2):
            // another one may; a cell that never was welcomed waits for this one's readiness as for a re-join.
            _log.Information("Joining {Endpoint} was refused ({Code}: {Reason}); trying the next transmitter", Plan.Current, ErrorCodeNames.Of(code), message);
            CloseLink(TimeSpan.Zero);
            Plan.Advance();
            ScheduleAttempt();
            return;
        }

        if (!_everWelcomed)
        {
            _firstWelcome?.TrySetException(new ThynapseRejectedException(code, message));
            return;
        }

        _log.Information("Re-joining was refused ({Code}: {Reason}); retrying in {Delay} ms", ErrorCodeNames.Of(code), message, _retryMs);
        _helloRefused = true;
        _link!.HelloSentAt = 0;
        ScheduleAttempt();
    }

    /// <summary><c>TMTR</c>: the transmitters the cell may fail over to changed (PROTOCOL.md §5.19).</summary>
    public void TransmittersChanged(TransmittersMessage message) => Plan.Learn(message.Transmitters);

    /// <summary><c>GBYE</c>: the answer to ours, or the transmitter shutting down (then the cell joins again).</summary>
    public void Goodbye(GoodbyeMessage goodbye)
    {
        if (_goodbye is { } leaving)
        {
            leaving.TrySetResult(goodbye);
            return;
        }

        // A transmitter that shuts down names the one to move to; one whose claim on this cell lost names the winner.
        Lost($"the transmitter said goodbye ({goodbye.Reason ?? "no reason"})", goodbye.To?.CommandEndpoint is { Length: > 0 } target ? target : null);
    }

    /// <summary>
    /// The session is lost: close its link and join again on a new one. Publishes handed to the socket that await only
    /// acceptance fail (their outcome is unknown); those awaiting completion are resent after the welcome; buffered ones
    /// wait for it; requests waiting for an answer are asked again then.
    /// </summary>
    /// <param name="reason">Why, for the notice.</param>
    /// <param name="target">A transmitter to try first (a shutting-down transmitter's hand-over), else the next of <see cref="Plan"/>.</param>
    public void Lost(string reason, string? target = null)
    {
        if (_parts.Signals.State != CellState.Connected || _stopped)
        {
            return;
        }

        _parts.Signals.SetState(CellState.Reconnecting);
        _parts.Signals.Notify(new CellNotice(CellNoticeKind.ConnectionLost, $"Lost the session with transmitter {Terms.Id}: {reason}; re-joining"));
        CloseLink(TimeSpan.Zero); // first: batches its socket had not taken go back to their queues
        _parts.Publishes.SessionLost(new ThynapseConnectionException(
            $"The session with the transmitter was lost ({reason}) before it confirmed the event; it may or may not have been routed."));
        _parts.Acknowledgements.EndSession(); // the tags were the lost session's: the transmitter redelivers those events
        _parts.Requests.SessionLost(); // asked again in the next session, in the order they were made
        Attempts.Reset();
        Plan.SessionLost(target); // another transmitter first: the lost one is tried last
        _retryMs = FirstRetryMs;
        _nextAttemptAt = 0; // at once: the first attempt needs no pause
        _thread.TickInterval = (int)FirstRetryMs;
        Attempt();
    }

    /// <summary>Each tick: beats and judges the transmitter's liveness while connected, or makes the next attempt to join.</summary>
    public void Tick()
    {
        var now = _thread.Now();
        var state = _parts.Signals.State;
        if (state == CellState.Connected)
        {
            // Alive while it answers (any frame from it), or while a full send queue keeps draining: a busy publisher's
            // BEAT waits behind its own events (the socket's queue, TCP buffers, the transmitter's inbound queue), so
            // its answer can take longer than the liveness window while the transmitter is plainly reading this
            // connection. Only room made in a full queue counts, never a send the kernel merely buffered: a stopped
            // transmitter's kernel takes a slow publisher's events for ever (review finding 17b, PROTOCOL.md §4.4).
            // Time this thread itself did not run is not counted (StallAwareClock).
            if (now - Math.Max(_lastHeard, _parts.Outbox.LastTaken) > _terms.LivenessMs)
            {
                Lost($"nothing heard for {now - _lastHeard} ms");
            }
            else
            {
                _parts.Outbox.Send(HeartbeatMessage.Instance.ToFrame());
            }
        }
        else if (state is CellState.Connecting or CellState.Reconnecting && !_stopped)
        {
            if (_link is null || _helloRefused)
            {
                if (now >= _nextAttemptAt)
                {
                    Attempt();
                }
            }
            else if (_link.Connected && _link.HelloSentAt != 0 && now - _link.HelloSentAt > _terms.LivenessMs)
            {
                // Connected but unanswered (the transmitter is stopped, or the path lost our HELO): try a new link.
                Attempts.Unanswered++;
                CloseLink(TimeSpan.Zero);
                Plan.Advance();
                ScheduleAttempt();
            }
        }
    }

    /// <summary>Settles what waited for the session, and gets going.</summary>
    /// <param name="resumed"><c>WLCM.resumed</c>: what the session taken over missed.</param>
    /// <param name="credit"><c>WLCM.credit</c>: the first publishing credit (null: the transmitter does not pace this cell).</param>
    /// <param name="before">The transmitter of the session before (empty: none).</param>
    private void Welcomed(WelcomeResumed? resumed, long? credit, Thid before)
    {
        var reconnected = _everWelcomed;
        _everWelcomed = true;
        _retryMs = FirstRetryMs;
        _thread.TickInterval = (int)_terms.HeartbeatMs;

        // Subscriptions that did not fit the HELO follow as SUBS; requests that waited for this session follow them.
        _parts.Subscriptions.FollowHello();
        if (reconnected)
        {
            _parts.Subscriptions.DropGone();
            _parts.Watches.Resume();
        }

        foreach (var request in _parts.Requests.TakeParked())
        {
            if (!_parts.Subscriptions.Settle(request))
            {
                _parts.Requests.Send(request);
            }
        }

        if (reconnected)
        {
            var moved = before != Terms.Id;
            _parts.Signals.Notify(new CellNotice(CellNoticeKind.Reconnected, $"Welcomed again by transmitter {Terms.Id} with {_parts.Subscriptions.Routes.Count} subscriptions")
            {
                Transmitter = Terms.Id,
            });
            if (moved)
            {
                _parts.Signals.Notify(new CellNotice(CellNoticeKind.Moved, $"Moved from transmitter {before} to transmitter {Terms.Id} at {Plan.Current}, with the same id and {_parts.Subscriptions.Routes.Count} subscriptions")
                {
                    Transmitter = Terms.Id,
                });
            }
        }

        if (resumed is { Missed: > 0 and var missed })
        {
            var ended = resumed.Ended switch
            {
                WelcomeResumed.Silent => "after it was silent for the liveness timeout",
                WelcomeResumed.NotReading => "because it stopped reading",
                WelcomeResumed.Disconnected => "when its connection closed",
                _ => null,
            };
            _parts.Signals.Notify(new CellNotice(CellNoticeKind.MissedEvents, ended is null
                ? $"The transmitter dropped {missed} events for this cell before it re-joined"
                : $"The transmitter ended this cell's session {ended}; {missed} events for it were dropped before it re-joined {resumed.Away ?? 0} ms later")
            {
                Count = missed,
            });
        }

        _parts.Signals.SetState(CellState.Connected);
        _parts.Outbox.Open(credit);
    }

    /// <summary>Opens a new link and says HELO on it, or says HELO again on the link after a refusal.</summary>
    private void Attempt()
    {
        if (_stopped)
        {
            return;
        }

        if (_link is null)
        {
            try
            {
                _link = Link.Open(_thread, Plan.Current, _linkName, Interlocked.Increment(ref _links), _linkEvents, _sockets, _curve ??= _options.Curve());
                _parts.Outbox.Attach(_link);
            }
            catch (Exception ex)
            {
                if (Attempts.LinkNotOpened(ex) is { } failure)
                {
                    _firstWelcome?.TrySetException(failure);
                }

                Plan.Advance();
                ScheduleAttempt();
                return;
            }
        }

        SendHello();
    }

    private void SendHello()
    {
        var hello = new HelloMessage(_cellId, _options.Service)
        {
            Protocol = ProtocolVersion.Current,
            Encodings = HelloEncodings,
            Metadata = _parts.Profile.Metadata,
            Tags = _parts.Profile.Tags,
            Subscriptions = _parts.Subscriptions.ForHello(), // as many as fit a modest header; the rest follow as SUBS
            Credit = true,
            Resume = _resumeToken,
            Secret = _options.Secret,
            Key = _options.KeyProof(_cellId), // a fixed key pair proves itself once per join: for an allow-list (§5.1)
        };

        _helloRefused = false;
        _link!.HelloSentAt = _thread.Now();
        var request = Request.Of(hello); // the table adds the ref
        _parts.Requests.Send(request);
        _link.HelloRef = request.Ref; // the link forgets it when it closes unanswered (review finding 13)
    }

    /// <summary>The next attempt to join waits a little longer each time, with jitter so that many cells do not retry together.</summary>
    private void ScheduleAttempt()
    {
        _nextAttemptAt = _thread.Now() + (_retryMs / 2) + Random.Shared.NextInt64(_retryMs / 2 + 1);
        _retryMs = Math.Min(_retryMs * 2, MaxRetryMs);
    }

    private void OnConnected(Link link)
    {
        link.Connected = true;
        Attempts.Connections++;
    }

    private void OnConnectRetried(Link link)
    {
        Attempts.Refusals++;
        if (ReferenceEquals(link, _link) && !link.Connected && Plan.HasAlternatives)
        {
            // Nobody listens there (a killed transmitter's port): rather than let the socket retry it, try the next one.
            CloseLink(TimeSpan.Zero);
            Plan.Advance();
            ScheduleAttempt();
        }
    }

    private void OnDisconnected(Link link)
    {
        link.Connected = false;
        if (!ReferenceEquals(link, _link))
        {
            return;
        }

        if (link.Welcomed)
        {
            Lost("its connection closed");
            return;
        }

        // Closed before a welcome: the peer refused us (it is not a transmitter's command port, or it shuts down), or
        // it died with our HELO. A HELO is not resent on the same socket, so try again on a new link after a pause.
        Attempts.ClosedBeforeWelcome++;
        CloseLink(TimeSpan.Zero);
        Plan.Advance();
        ScheduleAttempt();
    }
}

/// <summary>The engines a session settles and feeds (see <see cref="SessionEngine"/>).</summary>
internal sealed record SessionParts(
    SocketThread Thread,
    CellSignals Signals,
    Outbox Outbox,
    RequestTable Requests,
    Subscriptions Subscriptions,
    Watches Watches,
    Acknowledgements Acknowledgements,
    PublishBuffer Publishes,
    Profile Profile);
