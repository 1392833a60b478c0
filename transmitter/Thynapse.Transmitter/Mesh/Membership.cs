using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Who is in the mesh and who is alive: SWIM with Lifeguard's refinements (PROTOCOL.md §12.7). It joins through seeds,
/// merges what members say about each other (a higher incarnation wins; at the same incarnation suspect beats alive and
/// dead or left beat both), probes one member per interval in turn and any member that has been silent, asks others to
/// probe when a direct probe goes unanswered, suspects, confirms, declares dead, refutes suspicions of itself with a
/// higher incarnation, and retries seeds and dead members forever.
/// </summary>
/// <remarks>
/// Pure: no sockets, no threads, no time of its own. It reads the routing clock (<see cref="StallAwareClock"/>, which does
/// not count time the routing thread did not run) and talks to the network through <see cref="IPeerTransport"/>, so that
/// a test drives a whole mesh of these on a fake clock. Whatever changes in a call is broadcast once, at its end, as one
/// <c>MEMB</c>. Routing thread only.
/// </remarks>
internal sealed class Membership
{
    private readonly MeshOptions _options;
    private readonly IPeerTransport _transport;
    private readonly StallAwareClock _clock;
    private readonly TimeProvider _time;
    private readonly TransmitterCounters _counters;
    private readonly ILogger _log;
    private readonly LogLimiter _warnings;
    private readonly Random _random;
    private readonly LocalHealth _health;
    private readonly Dictionary<Thid, Member> _members = [];
    private readonly Dictionary<ulong, Probe> _probes = [];
    private readonly Dictionary<Thid, Probe> _probing = [];
    private readonly Dictionary<ulong, Relay> _relays = [];
    private readonly Dictionary<int, Attempt> _attempts = [];
    private readonly List<MemberRecord> _changes = [];
    private readonly List<Thid> _order = [];
    private readonly long _probeInterval;
    private readonly long _probeTimeout;
    private readonly long _pushPullInterval;
    private readonly long _joinTimeout;
    private readonly long _viewRefresh;
    private int _orderIndex;
    private long _lastStalled;
    private long _nextProbeAt;
    private long _nextPushPullAt;
    private ulong _nonce;
    private int _nextAttempt;
    private bool _refuted;
    private bool _changed = true;
    private bool _heard;
    private long _viewAt = long.MinValue;
    private IReadOnlyList<PeerInfo> _view = [];

    public Membership(Thid id, long incarnation, string commandEndpoint, string eventsEndpoint, MeshOptions options, IPeerTransport transport,
        StallAwareClock clock, TimeProvider time, TransmitterCounters counters, ILogger log, Random random)
    {
        Id = id;
        Incarnation = incarnation;
        CommandEndpoint = commandEndpoint;
        EventsEndpoint = eventsEndpoint;
        _options = options;
        _transport = transport;
        _clock = clock;
        _time = time;
        _counters = counters;
        _log = log.ForContext<Membership>();
        _warnings = new LogLimiter(_log, () => _clock.Now, _clock.Frequency);
        _random = random;
        _health = new LocalHealth(options.MaxLocalHealth);
        _probeInterval = clock.TicksOf(options.ProbeInterval);
        _probeTimeout = clock.TicksOf(options.ProbeTimeout);
        _pushPullInterval = clock.TicksOf(options.PushPullInterval);
        _joinTimeout = clock.TicksOf(options.JoinTimeout);
        _viewRefresh = clock.TicksOf(TimeSpan.FromMilliseconds(100));
        _lastStalled = clock.Stalled;
        _nextPushPullAt = clock.Now + _pushPullInterval;
    }

    /// <summary>This transmitter's THID.</summary>
    public Thid Id { get; }

    /// <summary>This transmitter's incarnation: where it started (ms since 1970), raised by every refutation.</summary>
    public long Incarnation { get; private set; }

    public string CommandEndpoint { get; }

    public string EventsEndpoint { get; }

    /// <summary>True once leaving (a graceful shutdown announced <c>left</c>).</summary>
    public bool Leaving { get; private set; }

    /// <summary>The local health score (0: healthy).</summary>
    public int Health => _health.Score;

    /// <summary>True once there is anything to do: a seed to join, a member to follow.</summary>
    public bool Active => _members.Count > 0 || _attempts.Count > 0;

    /// <summary>Every member known, dead and left ones included.</summary>
    public IReadOnlyCollection<Member> Members => _members.Values;

    /// <summary>The view for <see cref="Transmitter.Peers"/>: swapped whole, read from any thread.</summary>
    public IReadOnlyList<PeerInfo> View => Volatile.Read(ref _view);

    /// <summary>This transmitter as a record.</summary>
    public MemberRecord Self => new(Id, Incarnation, Leaving ? PeerState.Left : PeerState.Alive, CommandEndpoint, EventsEndpoint);

    public bool TryGet(Thid id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Member? member) => _members.TryGetValue(id, out member);

    /// <summary>A seed's command endpoint: joined at once, retried until it answers.</summary>
    public void AddSeed(string endpoint)
    {
        var attempt = NewAttempt(endpoint, seed: endpoint, member: null);
        attempt.NextAt = _clock.Now;
    }

    /// <summary>The <c>JOIN</c> this transmitter sends: itself, and every member it knows.</summary>
    public JoinMessage CreateJoin() => new(Self, [.. _members.Values.Select(m => m.ToRecord())]);

    /// <summary>Everything this transmitter knows, itself first: the records of the <c>MEMB</c> that answers a <c>JOIN</c>.</summary>
    public List<MemberRecord> Snapshot() => [Self, .. _members.Values.Select(m => m.ToRecord())];

    /// <summary>
    /// A <c>JOIN</c> arrived on the command socket: the sender is alive at its incarnation, and what it knows is merged.
    /// Refused (<see cref="ThynapseErrorCode.IdInUse"/>) when it claims this transmitter's own THID at another incarnation.
    /// </summary>
    public ThynapseErrorCode OnJoin(JoinMessage join, out string? error)
    {
        error = null;
        var sender = join.Sender;
        if (sender.Id == Id)
        {
            if (sender.Incarnation == Incarnation)
            {
                return ThynapseErrorCode.None; // a seed that is this transmitter itself: the answer tells it so
            }

            error = $"{sender.Id} is this transmitter's THID (incarnation {Incarnation}); two transmitters must not share a THID";
            return ThynapseErrorCode.IdInUse;
        }

        Merge(sender, sender.Id);
        foreach (var record in join.Members)
        {
            Merge(record, sender.Id);
        }

        Heard(sender.Id, sender.Incarnation);
        Flush();
        return ThynapseErrorCode.None;
    }

    /// <summary>
    /// A <c>MEMB</c>: broadcast by <paramref name="message"/>'s sender, or its answer to the <c>JOIN</c> on our link to it
    /// (<paramref name="answer"/>), after which a refutation is pushed to it at once.
    /// </summary>
    public void OnMembers(MembersMessage message, bool answer)
    {
        _refuted = false;
        var origin = message.Header.Id;
        foreach (var record in message.Members)
        {
            Merge(record, origin);
        }

        if (answer && _refuted && _members.TryGetValue(origin, out var member) && member.Linked)
        {
            _transport.PushPull(member); // it holds us suspect or dead and may not listen to us: tell it directly
        }

        Flush();
    }

    /// <summary>The <c>MEMB</c> answering a join attempt (to a seed or a dead member).</summary>
    public void OnAttemptAnswered(int attempt, MembersMessage answer)
    {
        if (!_attempts.TryGetValue(attempt, out var a) || !a.InFlight)
        {
            return; // given up already
        }

        _transport.EndAttempt(attempt);
        a.InFlight = false;
        var origin = answer.Header.Id;
        if (origin == Id)
        {
            _log.Debug("Seed {Seed} is this transmitter", a.Endpoint);
            RemoveAttempt(a);
            return;
        }

        _refuted = false;
        foreach (var record in answer.Members)
        {
            Merge(record, origin);
        }

        Heard(origin, answer.Header.Incarnation);
        if (_refuted && _members.TryGetValue(origin, out var responder) && responder.Linked)
        {
            _transport.PushPull(responder); // it holds us suspect or dead: our new incarnation, directly
        }

        if (a.Seed is not null)
        {
            _log.Information("Joined the mesh through seed {Seed} ({PeerId}): {Members} members known", a.Seed, origin, _members.Count);
            RemoveAttempt(a);
        }
        else if (a.Member is { } id && (!_members.TryGetValue(id, out var m) || m.State != PeerState.Dead))
        {
            RemoveAttempt(a);
        }
        else
        {
            a.NextAt = _clock.Now + (_refuted ? 0 : a.Backoff.Next()); // refuted: it holds us dead; push our new incarnation at once
        }

        Flush();
    }

    /// <summary>
    /// Anything arrived from <paramref name="id"/> at <paramref name="incarnation"/>: a sign of life. It answers a probe
    /// of it in flight and the indirect probes this transmitter runs for others.
    /// </summary>
    public void Heard(Thid id, long incarnation)
    {
        if (!_members.TryGetValue(id, out var member) || incarnation < member.Incarnation)
        {
            return;
        }

        var now = _clock.Now;
        member.LastHeard = now;
        _heard = true;
        if (member.State is PeerState.Alive or PeerState.Suspect)
        {
            member.QuietSince = now;
            if (_probing.TryGetValue(id, out var probe))
            {
                Acknowledge(probe);
            }

            if (_relays.Count > 0)
            {
                foreach (var (nonce, relay) in _relays.Where(r => r.Value.Target == id).ToList())
                {
                    _relays.Remove(nonce);
                    _transport.Answer(relay.Requester, MeshCommand.Pong, relay.Nonce);
                }
            }
        }
        else if (member.State == PeerState.Dead && member.Retry is { } retry && _attempts.TryGetValue(retry, out var attempt) && !attempt.InFlight)
        {
            attempt.NextAt = now; // it speaks but is held dead: the retry's JOIN tells it so, and it refutes
        }
    }

    /// <summary>Something suggests <paramref name="id"/> may be gone (its connection to us closed): probe it now, out of turn.</summary>
    public void Prod(Thid id)
    {
        if (!Leaving && _members.TryGetValue(id, out var member) && Probeable(member))
        {
            StartProbe(member, _clock.Now);
        }
    }

    /// <summary>A direct probe: answered with <c>PONG</c>; a probe that says we are suspected is refuted (Lifeguard's buddy system).</summary>
    public void OnPing(Thid from, PingMessage ping)
    {
        _transport.Answer(from, MeshCommand.Pong, ping.Nonce);
        if (ping.Suspect is { } suspectedAt && suspectedAt >= Incarnation && !Leaving)
        {
            Refute(suspectedAt, PeerState.Suspect, from);
        }

        Flush();
    }

    /// <summary>Probe another member for <paramref name="from"/>: its answer is relayed, or a nack sent after our probe timeout.</summary>
    public void OnPingRequest(Thid from, PingRequestMessage request)
    {
        if (request.Target == Id)
        {
            _transport.Answer(from, MeshCommand.Pong, request.Nonce);
            return;
        }

        if (!_members.TryGetValue(request.Target, out var target) || target.State is PeerState.Dead or PeerState.Left || !target.Linked)
        {
            _transport.Answer(from, MeshCommand.Pnak, request.Nonce);
            return;
        }

        var nonce = ++_nonce;
        _relays[nonce] = new Relay(from, request.Nonce, target.Id, _clock.Now + (_probeTimeout * _health.Factor));
        _transport.Ping(target, nonce, target.State == PeerState.Suspect ? target.Incarnation : null);
    }

    /// <summary>A <c>PONG</c> or <c>PNAK</c> for one of our nonces: a probe answered (directly or relayed), an indirect probe's nack, or an answer to relay.</summary>
    public void OnAnswer(MeshCommand command, ulong nonce)
    {
        if (_probes.TryGetValue(nonce, out var probe))
        {
            if (command == MeshCommand.Pong)
            {
                Acknowledge(probe);
            }
            else
            {
                probe.Nacks++;
            }
        }
        else if (command == MeshCommand.Pong && _relays.Remove(nonce, out var relay))
        {
            _transport.Answer(relay.Requester, MeshCommand.Pong, relay.Nonce);
        }
    }

    /// <summary>Periodic work on the routing clock: probes, indirect probes, suspicions, attempts, push-pull.</summary>
    public void Tick()
    {
        if (Leaving)
        {
            return;
        }

        var now = _clock.Now;
        if (_clock.Stalled > _lastStalled)
        {
            // Our own thread did not run: we are the slow one. Slow our verdicts (Lifeguard).
            _lastStalled = _clock.Stalled;
            _health.Apply(1);
        }

        var factor = _health.Factor;
        TickProbes(now, factor);
        TickRelays(now);
        TickSuspicions(now, factor);
        StartProbes(now, factor);
        TickAttempts(now);
        if (now >= _nextPushPullAt)
        {
            _nextPushPullAt = now + _pushPullInterval;
            var linked = _members.Values.Where(m => m.Linked && m.State == PeerState.Alive).ToList();
            if (linked.Count > 0)
            {
                _transport.PushPull(linked[_random.Next(linked.Count)]);
            }
        }

        Flush();
        PublishView(now);
    }

    /// <summary>Announces that this transmitter leaves (graceful shutdown): <c>left</c> at its incarnation; nothing more is probed.</summary>
    public void Leave()
    {
        if (Leaving)
        {
            return;
        }

        Leaving = true;
        if (_members.Count > 0)
        {
            _log.Information("Leaving the mesh ({Members} members known)", _members.Count);
        }

        _transport.Broadcast([Self]);
        foreach (var attempt in _attempts.Values.Where(a => a.InFlight))
        {
            _transport.EndAttempt(attempt.Id);
        }

        _attempts.Clear();
    }

    private void Merge(MemberRecord record, Thid origin)
    {
        if (record.Id == Id)
        {
            AboutSelf(record, origin);
            return;
        }

        var now = _clock.Now;
        if (!_members.TryGetValue(record.Id, out var member))
        {
            member = new Member(record.Id, record.Incarnation, record.State, record.Command, record.Events) { StateSince = now, QuietSince = now };
            _members.Add(member.Id, member);
            _changed = true;
            switch (record.State)
            {
                case PeerState.Alive:
                    LinkIfNeeded(member);
                    TransmitterCounters.Increment(ref _counters.MeshJoins);
                    _log.Information("Peer {PeerId} joined the mesh (incarnation {Incarnation}, {CommandEndpoint})", member.Id, member.Incarnation, member.CommandEndpoint);
                    _changes.Add(member.ToRecord());
                    break;
                case PeerState.Suspect:
                    LinkIfNeeded(member);
                    StartSuspicion(member, record.From.IsEmpty ? origin : record.From);
                    _changes.Add(member.ToRecord());
                    break;
                case PeerState.Dead:
                    ScheduleRetry(member);
                    break;
            }

            return;
        }

        if (record.Incarnation < member.Incarnation)
        {
            return; // old news
        }

        switch (record.State)
        {
            case PeerState.Alive when record.Incarnation > member.Incarnation:
                var was = member.State;
                Renew(member, record);
                SetState(member, PeerState.Alive);
                CancelRetry(member);
                LinkIfNeeded(member);
                TransmitterCounters.Increment(ref _counters.MeshJoins);
                _log.Information(was switch
                {
                    PeerState.Suspect => "Peer {PeerId} refuted the suspicion: alive at incarnation {Incarnation}",
                    PeerState.Alive => "Peer {PeerId} restarted: alive at incarnation {Incarnation}",
                    _ => "Peer {PeerId} is alive again at incarnation {Incarnation}",
                }, member.Id, member.Incarnation);
                _changes.Add(member.ToRecord());
                break;
            case PeerState.Suspect:
                if (member.State == PeerState.Suspect && record.Incarnation == member.Incarnation)
                {
                    member.Suspicion!.Confirm(record.From.IsEmpty ? origin : record.From); // a confirmation: not relayed
                    _changed = true;
                    return;
                }

                if (member.State is PeerState.Dead or PeerState.Left && record.Incarnation == member.Incarnation)
                {
                    return;
                }

                Renew(member, record);
                CancelRetry(member);
                LinkIfNeeded(member);
                StartSuspicion(member, record.From.IsEmpty ? origin : record.From);
                _changes.Add(member.ToRecord());
                break;
            case PeerState.Dead or PeerState.Left:
                if (member.State is PeerState.Dead or PeerState.Left && record.Incarnation == member.Incarnation)
                {
                    if (member.State == PeerState.Dead && record.State == PeerState.Left)
                    {
                        Declare(member, PeerState.Left, record.Incarnation, origin); // it left after all: stop retrying it
                    }

                    return;
                }

                Renew(member, record);
                Declare(member, record.State, record.Incarnation, origin);
                break;
        }
    }

    /// <summary>A record about ourselves: a suspicion or a death at our incarnation (or later) is refuted.</summary>
    private void AboutSelf(MemberRecord record, Thid origin)
    {
        if (Leaving)
        {
            return;
        }

        if (record.State == PeerState.Alive)
        {
            if (record.Incarnation > Incarnation)
            {
                // A newer incarnation of our THID than ours is known (our clock went back since an earlier run): outgrow it.
                Incarnation = record.Incarnation + 1;
                _changes.Add(Self);
                _refuted = true;
            }

            return;
        }

        if (record.Incarnation >= Incarnation)
        {
            Refute(record.Incarnation, record.State, origin);
        }
    }

    private void Refute(long accusedAt, PeerState accusation, Thid origin)
    {
        Incarnation = Math.Max(Incarnation, accusedAt) + 1;
        _health.Apply(1); // being suspected hints that we are the slow one (Lifeguard)
        _refuted = true;
        _changed = true;
        TransmitterCounters.Increment(ref _counters.MeshRefutations);
        _log.Information("Refuted being {State} (said by {PeerId}): alive at incarnation {Incarnation}", MemberRecord.StateName(accusation), origin, Incarnation);
        _changes.Add(Self);
    }

    /// <summary>Takes a newer incarnation's endpoints; links to the old ones are closed (a restarted member has new connections).</summary>
    private void Renew(Member member, MemberRecord record)
    {
        var renewed = record.Incarnation != member.Incarnation || record.Command != member.CommandEndpoint || record.Events != member.EventsEndpoint;
        if (renewed)
        {
            // Also when not linked: a dead member's streams may still be listened to, at its old endpoint.
            _transport.Unlink(member, keepListening: false);
            member.Linked = false;
            EndProbe(member.Id);
        }

        member.Incarnation = record.Incarnation;
        member.CommandEndpoint = record.Command;
        member.EventsEndpoint = record.Events;
    }

    private void LinkIfNeeded(Member member)
    {
        if (!member.Linked)
        {
            member.Linked = true;
            member.QuietSince = _clock.Now;
            _transport.Link(member);
        }
    }

    private void SetState(Member member, PeerState state)
    {
        if (member.State != state)
        {
            member.State = state;
            member.StateSince = _clock.Now;
        }

        if (state != PeerState.Suspect)
        {
            member.Suspicion = null;
            member.SuspectedBy = default;
        }

        _changed = true;
    }

    private void StartSuspicion(Member member, Thid from)
    {
        // Lifeguard: expect SuspicionMultiplier − 2 confirmations, none in a mesh too small to give them.
        var n = 1 + _members.Values.Count(m => m.State is PeerState.Alive or PeerState.Suspect);
        var expected = _options.SuspicionMultiplier - 2;
        if (n - 2 < expected)
        {
            expected = 0;
        }

        var min = (long)(_options.SuspicionMultiplier * Math.Max(1.0, Math.Log10(n)) * _probeInterval);
        var max = _options.SuspicionMaxMultiplier * min;
        SetState(member, PeerState.Suspect);
        member.Suspicion = new Suspicion(from, _clock.Now, expected, min, max);
        member.SuspectedBy = from;
        TransmitterCounters.Increment(ref _counters.MeshSuspicions);
        if (_warnings.Allow(WarningKind.PeerSuspected))
        {
            _log.Warning("Peer {PeerId} is suspected by {Suspecter} (incarnation {Incarnation}); declared dead within {Timeout} unless it refutes (sooner as others confirm)",
                member.Id, from == Id ? "this transmitter" : from.ToString(), member.Incarnation, _clock.SpanOf(member.Suspicion.TimeoutTicks * _health.Factor));
        }
    }

    private void Declare(Member member, PeerState state, long incarnation, Thid by)
    {
        member.Incarnation = incarnation;
        var suspicion = member.Suspicion;
        var silent = member.LastHeard == long.MinValue ? (TimeSpan?)null : _clock.SpanOf(_clock.Now - member.LastHeard);
        SetState(member, state);
        EndProbe(member.Id);
        if (member.Linked || state == PeerState.Left)
        {
            _transport.Unlink(member, keepListening: state == PeerState.Dead);
            member.Linked = false;
        }

        if (state == PeerState.Dead)
        {
            ScheduleRetry(member);
            TransmitterCounters.Increment(ref _counters.MeshDeaths);
            if (_warnings.Allow(WarningKind.PeerSuspected))
            {
                _log.Warning("Peer {PeerId} declared dead by {Declarer} at incarnation {Incarnation} (silent for {Silence}, {Confirmations} suspecting)",
                    member.Id, by == Id ? "this transmitter" : by.ToString(), incarnation, silent, suspicion?.Confirmations ?? 0);
            }
        }
        else
        {
            CancelRetry(member);
            TransmitterCounters.Increment(ref _counters.MeshLeaves);
            _log.Information("Peer {PeerId} left the mesh (incarnation {Incarnation})", member.Id, incarnation);
        }

        _changes.Add(member.ToRecord());
    }

    private void TickProbes(long now, int factor)
    {
        if (_probes.Count == 0)
        {
            return;
        }

        foreach (var probe in _probes.Values.ToList())
        {
            if (!_members.TryGetValue(probe.Target, out var target) || target.State is PeerState.Dead or PeerState.Left || !target.Linked)
            {
                EndProbe(probe.Target);
                continue;
            }

            if (!probe.Indirect && now - probe.Started >= _probeTimeout * factor)
            {
                probe.Indirect = true;
                foreach (var helper in Pick(_options.IndirectProbes, m => m.Linked && m.State == PeerState.Alive && m.Id != probe.Target))
                {
                    _transport.PingRequest(helper, probe.Target, probe.Nonce);
                    probe.Expected++;
                    TransmitterCounters.Increment(ref _counters.MeshIndirectProbes);
                }
            }

            if (now - probe.Started >= _probeInterval * factor)
            {
                Fail(probe, target);
            }
        }
    }

    private void Fail(Probe probe, Member target)
    {
        EndProbe(probe.Target);
        TransmitterCounters.Increment(ref _counters.MeshProbesFailed);

        // Helpers that did not even nack: the trouble may be ours (Lifeguard). With no helper there is no evidence either way.
        if (probe.Expected > probe.Nacks)
        {
            _health.Apply(probe.Expected - probe.Nacks);
        }

        if (target.State == PeerState.Alive)
        {
            StartSuspicion(target, Id);
            _changes.Add(target.ToRecord());
        }
        else if (target.State == PeerState.Suspect && target.Suspicion!.Confirm(Id))
        {
            _changes.Add(target.ToRecord() with { From = Id }); // our own confirmation
            _changed = true;
        }
    }

    private void Acknowledge(Probe probe)
    {
        EndProbe(probe.Target);
        _health.Apply(-1);
    }

    private void EndProbe(Thid target)
    {
        if (_probing.Remove(target, out var probe))
        {
            _probes.Remove(probe.Nonce);
        }
    }

    private void TickRelays(long now)
    {
        if (_relays.Count == 0)
        {
            return;
        }

        foreach (var (nonce, relay) in _relays.Where(r => now >= r.Value.Deadline).ToList())
        {
            _relays.Remove(nonce);
            _transport.Answer(relay.Requester, MeshCommand.Pnak, relay.Nonce);
        }
    }

    private void TickSuspicions(long now, int factor)
    {
        foreach (var member in _members.Values)
        {
            if (member.State == PeerState.Suspect && member.Suspicion!.HasExpired(now, factor))
            {
                Declare(member, PeerState.Dead, member.Incarnation, Id);
            }
        }
    }

    /// <summary>One member in turn per probe interval (round robin over a shuffled order, SWIM), and any member silent for a probe interval.</summary>
    private void StartProbes(long now, int factor)
    {
        var interval = _probeInterval * factor;
        if (now >= _nextProbeAt)
        {
            _nextProbeAt = now + interval;
            if (NextInTurn() is { } next)
            {
                StartProbe(next, now);
            }
        }

        foreach (var member in _members.Values)
        {
            if (Probeable(member) && now - member.QuietSince >= interval && now - member.LastProbeStart >= interval)
            {
                StartProbe(member, now);
            }
        }
    }

    private bool Probeable(Member member) => member.Linked && member.State is PeerState.Alive or PeerState.Suspect && !_probing.ContainsKey(member.Id);

    private Member? NextInTurn()
    {
        for (var pass = 0; pass < 2; pass++)
        {
            while (_orderIndex < _order.Count)
            {
                if (_members.TryGetValue(_order[_orderIndex++], out var member) && Probeable(member))
                {
                    return member;
                }
            }

            _order.Clear();
            _order.AddRange(_members.Values.Where(Probeable).Select(m => m.Id));
            Shuffle(_order);
            _orderIndex = 0;
        }

        return null;
    }

    private void StartProbe(Member target, long now)
    {
        var probe = new Probe(target.Id, ++_nonce, now);
        _probes.Add(probe.Nonce, probe);
        _probing.Add(target.Id, probe);
        target.LastProbeStart = now;
        TransmitterCounters.Increment(ref _counters.MeshProbes);
        _transport.Ping(target, probe.Nonce, target.State == PeerState.Suspect ? target.Incarnation : null);
    }

    private void TickAttempts(long now)
    {
        if (_attempts.Count == 0)
        {
            return;
        }

        foreach (var attempt in _attempts.Values.ToList())
        {
            if (attempt.InFlight)
            {
                if (now < attempt.DeadlineAt)
                {
                    continue;
                }

                _transport.EndAttempt(attempt.Id);
                attempt.InFlight = false;
                var pause = attempt.Backoff.Next();
                attempt.NextAt = now + pause;
                TransmitterCounters.Increment(ref _counters.MeshJoinFailures);
                attempt.Failures++;

                // Retried forever: said at the 1st, 2nd, 4th, 8th… failure in a row, and within the limiter's budget.
                if ((attempt.Failures & (attempt.Failures - 1)) == 0 && _warnings.Allow(WarningKind.PeerUnreachable))
                {
                    _log.Warning("{What} {Endpoint} did not answer JOIN within {Timeout} ({Failures} in a row); trying again in {Pause}, and forever",
                        attempt.Seed is not null ? "Seed" : $"Dead peer {attempt.Member}", attempt.Endpoint, _options.JoinTimeout, attempt.Failures, _clock.SpanOf(pause));
                }
            }
            else if (now >= attempt.NextAt)
            {
                if (Satisfied(attempt))
                {
                    RemoveAttempt(attempt);
                    continue;
                }

                attempt.InFlight = true;
                attempt.DeadlineAt = now + _joinTimeout;
                TransmitterCounters.Increment(ref _counters.MeshJoinAttempts);
                _transport.StartAttempt(attempt.Id, attempt.Endpoint);
            }
        }
    }

    /// <summary>A seed no longer needs joining once a followed member has its endpoint; a dead member's retry ends when it is not dead.</summary>
    private bool Satisfied(Attempt attempt) => attempt.Seed is not null
        ? attempt.Endpoint == CommandEndpoint || _members.Values.Any(m => m.Linked && m.State is PeerState.Alive or PeerState.Suspect && m.CommandEndpoint == attempt.Endpoint)
        : !_members.TryGetValue(attempt.Member!.Value, out var member) || member.State != PeerState.Dead;

    private void ScheduleRetry(Member member)
    {
        if (member.Retry is null)
        {
            var attempt = NewAttempt(member.CommandEndpoint, seed: null, member.Id);
            attempt.NextAt = _clock.Now + attempt.Backoff.Next();
            member.Retry = attempt.Id;
        }
    }

    private void CancelRetry(Member member)
    {
        if (member.Retry is { } id && _attempts.TryGetValue(id, out var attempt))
        {
            RemoveAttempt(attempt);
        }

        member.Retry = null;
    }

    private Attempt NewAttempt(string endpoint, string? seed, Thid? member)
    {
        var attempt = new Attempt(++_nextAttempt, endpoint, seed, member,
            new Backoff(_clock.TicksOf(_options.RetryMin), _clock.TicksOf(_options.RetryMax), _random));
        _attempts.Add(attempt.Id, attempt);
        return attempt;
    }

    private void RemoveAttempt(Attempt attempt)
    {
        if (attempt.InFlight)
        {
            _transport.EndAttempt(attempt.Id);
        }

        _attempts.Remove(attempt.Id);
        if (attempt.Member is { } id && _members.TryGetValue(id, out var member) && member.Retry == attempt.Id)
        {
            member.Retry = null;
        }
    }

    private List<Member> Pick(int count, Func<Member, bool> eligible)
    {
        var candidates = _members.Values.Where(eligible).ToList();
        Shuffle(candidates);
        if (candidates.Count > count)
        {
            candidates.RemoveRange(count, candidates.Count - count);
        }

        return candidates;
    }

    private void Shuffle<T>(List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>Broadcasts what changed in this call, once; refreshes the gauges.</summary>
    private void Flush()
    {
        if (_changes.Count > 0)
        {
            _transport.Broadcast([.. _changes]);
            _changes.Clear();
        }

        if (_changed)
        {
            Volatile.Write(ref _counters.MeshAlive, _members.Values.Count(m => m.State == PeerState.Alive));
            Volatile.Write(ref _counters.MeshSuspect, _members.Values.Count(m => m.State == PeerState.Suspect));
            Volatile.Write(ref _counters.MeshDead, _members.Values.Count(m => m.State == PeerState.Dead));
            PublishView(_clock.Now);
        }

        Volatile.Write(ref _counters.MeshHealth, _health.Score);
    }

    /// <summary>Swaps the public view when something changed (last-seen times at most every 100 ms).</summary>
    private void PublishView(long now)
    {
        if (!_changed && !(_heard && now - _viewAt >= _viewRefresh))
        {
            return;
        }

        var wall = _time.GetUtcNow();
        DateTimeOffset At(long ticks) => wall - _clock.SpanOf(now - ticks);
        Volatile.Write(ref _view, [.. _members.Values.Select(m => new PeerInfo(m.Id, m.Incarnation, m.State, m.CommandEndpoint, m.EventsEndpoint,
            m.LastHeard == long.MinValue ? null : At(m.LastHeard), At(m.StateSince), m.Suspicion?.Confirmations ?? 0))]);
        _viewAt = now;
        _changed = false;
        _heard = false;
    }

    private sealed class Probe(Thid target, ulong nonce, long started)
    {
        public Thid Target { get; } = target;

        public ulong Nonce { get; } = nonce;

        public long Started { get; } = started;

        public bool Indirect { get; set; }

        /// <summary>Helpers asked: each owes a <c>PONG</c> or a <c>PNAK</c>.</summary>
        public int Expected { get; set; }

        public int Nacks { get; set; }
    }

    /// <summary>An indirect probe run for <see cref="Requester"/>: its nonce, and when to nack.</summary>
    private sealed record Relay(Thid Requester, ulong Nonce, Thid Target, long Deadline);

    private sealed class Attempt(int id, string endpoint, string? seed, Thid? member, Backoff backoff)
    {
        public int Id { get; } = id;

        public string Endpoint { get; } = endpoint;

        /// <summary>The seed it joins (null: a dead member's retry).</summary>
        public string? Seed { get; } = seed;

        public Thid? Member { get; } = member;

        public Backoff Backoff { get; } = backoff;

        public long NextAt { get; set; }

        public long DeadlineAt { get; set; }

        public bool InFlight { get; set; }

        /// <summary>Attempts in a row that got no answer.</summary>
        public int Failures { get; set; }
    }
}
