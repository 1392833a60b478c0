using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Who is in the mesh and who is alive (PROTOCOL.md §12.4, §12.7): it merges what members say about each other (a higher
/// incarnation wins; at the same incarnation suspect beats alive and dead or left beat both), suspects a member its
/// <see cref="FailureDetector"/> could not reach, counts confirmations, declares dead, refutes suspicions of itself with a
/// higher incarnation, links and unlinks members, and hands seeds and dead members to <see cref="JoinAttempts"/>, which
/// tries them forever.
/// </summary>
/// <remarks>
/// Pure: no sockets, no threads, no time of its own. It reads the routing clock (<see cref="StallAwareClock"/>, which does
/// not count time the routing thread did not run) and talks to the network through <see cref="IPeerTransport"/>, so that
/// a test drives a whole mesh of these on a fake clock. Whatever changes in a call is broadcast once, at its end, as one
/// <c>MEMB</c>. Routing thread only.
/// </remarks>
internal sealed class Membership
{
    private readonly IPeerTransport _transport;
    private readonly StallAwareClock _clock;
    private readonly TimeProvider _time;
    private readonly TransmitterCounters _counters;
    private readonly ILogger _log;
    private readonly LogLimiter _warnings;
    private readonly Random _random;
    private readonly Dictionary<Thid, Member> _members = [];
    private readonly List<MemberRecord> _changes = [];
    private readonly FailureDetector _detector;
    private readonly JoinAttempts _attempts;
    private readonly long _pushPullInterval;
    private readonly long _viewRefresh;
    private long _nextPushPullAt;
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
        Run = incarnation;
        CommandEndpoint = commandEndpoint;
        EventsEndpoint = eventsEndpoint;
        _transport = transport;
        _clock = clock;
        _time = time;
        _counters = counters;
        _log = log.ForContext<Membership>();
        _warnings = new LogLimiter(_log, () => _clock.Now, _clock.Frequency);
        _random = random;
        _detector = new FailureDetector(options, transport, clock, counters, random, _members, failed: Suspect, expired: member => Declare(member, PeerState.Dead, member.Incarnation, Id));
        _attempts = new JoinAttempts(options, transport, clock, counters, _log, _warnings, random, Satisfied);
        _pushPullInterval = clock.TicksOf(options.PushPullInterval);
        _viewRefresh = clock.TicksOf(TimeSpan.FromMilliseconds(100));
        _nextPushPullAt = clock.Now + _pushPullInterval;
    }

    /// <summary>This transmitter's THID.</summary>
    public Thid Id { get; }

    /// <summary>This transmitter's incarnation: where it started (ms since 1970), raised by every refutation.</summary>
    public long Incarnation { get; private set; }

    /// <summary>The incarnation this process started at: its records say it, so that its refutations do not pass for restarts.</summary>
    public long Run { get; }

    public string CommandEndpoint { get; }

    public string EventsEndpoint { get; }

    /// <summary>True once leaving (a graceful shutdown announced <c>left</c>).</summary>
    public bool Leaving { get; private set; }

    /// <summary>A member was declared dead or left: what it served is gone (the cell replica drops its cells).</summary>
    public event Action<Member>? Gone;

    /// <summary>Something about the members changed (a state, an incarnation, an endpoint), raised once per call that changed it.</summary>
    public event Action? Changed;

    /// <summary>The local health score (0: healthy).</summary>
    public int Health => _detector.Health;

    /// <summary>Every member known, dead and left ones included.</summary>
    public IReadOnlyCollection<Member> Members => _members.Values;

    /// <summary>The view for <see cref="Transmitter.Peers"/>: swapped whole, read from any thread.</summary>
    public IReadOnlyList<PeerInfo> View => Volatile.Read(ref _view);

    /// <summary>This transmitter as a record.</summary>
    public MemberRecord Self => new(Id, Incarnation, Leaving ? PeerState.Left : PeerState.Alive, CommandEndpoint, EventsEndpoint, Records: ForwardRecords.HighestKind, Run: Run);

    public bool TryGet(Thid id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Member? member) => _members.TryGetValue(id, out member);

    /// <summary>A seed's command endpoint: joined at once, retried until it answers.</summary>
    public void AddSeed(string endpoint) => _attempts.AddSeed(endpoint);

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
        if (!_attempts.TryTakeAnswer(attempt, out var a))
        {
            return; // given up already
        }

        var origin = answer.Header.Id;
        if (origin == Id)
        {
            _log.Debug("Seed {Seed} is this transmitter", a.Endpoint);
            _attempts.Remove(a);
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
            _attempts.Remove(a);
        }
        else if (Satisfied(a))
        {
            _attempts.Remove(a);
        }
        else
        {
            _attempts.Again(a, now: _refuted); // refuted: it holds us dead; push our new incarnation at once
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
            _detector.Heard(member);
        }
        else if (member.State == PeerState.Dead)
        {
            _attempts.Prompt(member); // it speaks but is held dead: the retry's JOIN tells it so, and it refutes
        }
    }

    /// <summary>Something suggests <paramref name="id"/> may be gone (its connection to us closed): probe it now, out of turn.</summary>
    public void Prod(Thid id)
    {
        if (!Leaving && _members.TryGetValue(id, out var member))
        {
            _detector.Prod(member);
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
    public void OnPingRequest(Thid from, PingRequestMessage request) => _detector.OnPingRequest(Id, from, request);

    /// <summary>A <c>PONG</c> or <c>PNAK</c> for one of our nonces.</summary>
    public void OnAnswer(MeshCommand command, ulong nonce) => _detector.OnAnswer(command, nonce);

    /// <summary>Periodic work on the routing clock: probes, indirect probes, suspicions, attempts, push-pull.</summary>
    public void Tick()
    {
        if (Leaving)
        {
            return;
        }

        var now = _clock.Now;
        _detector.Tick();
        _attempts.Tick();
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
            member = new Member(record.Id, record.Incarnation, record.State, record.Command, record.Events) { StateSince = now, QuietSince = now, Records = record.Records, Run = record.Run };
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
                    _attempts.Retry(member);
                    break;
            }

            return;
        }

        if (record.Incarnation < member.Incarnation)
        {
            return; // old news
        }

        if (record.Incarnation == member.Incarnation)
        {
            // Learnt from a record of its own (the first one may have come from a member that predates the fields).
            member.Records = Math.Max(member.Records, record.Records);
            member.Run = member.Run == 0 ? record.Run : member.Run;
        }

        switch (record.State)
        {
            case PeerState.Alive when record.Incarnation > member.Incarnation:
                var was = member.State;
                var restarted = !SameProcess(member, record);
                Renew(member, record);
                SetState(member, PeerState.Alive);
                _attempts.Cancel(member);
                LinkIfNeeded(member);
                TransmitterCounters.Increment(ref _counters.MeshJoins);
                _log.Information((was, restarted) switch
                {
                    (PeerState.Suspect, false) => "Peer {PeerId} refuted the suspicion: alive at incarnation {Incarnation}",
                    (PeerState.Alive, false) => "Peer {PeerId} refuted a suspicion: alive at incarnation {Incarnation}",
                    (PeerState.Alive or PeerState.Suspect, true) => "Peer {PeerId} restarted: alive at incarnation {Incarnation}",
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
                _attempts.Cancel(member);
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
        _detector.Refuted(); // being suspected hints that we are the slow one (Lifeguard)
        _refuted = true;
        _changed = true;
        TransmitterCounters.Increment(ref _counters.MeshRefutations);
        _log.Information("Refuted being {State} (said by {PeerId}): alive at incarnation {Incarnation}", MemberRecord.StateName(accusation), origin, Incarnation);
        _changes.Add(Self);
    }

    /// <summary>True when <paramref name="record"/> is from the process <paramref name="member"/> is known as (a refutation, not a restart).</summary>
    private static bool SameProcess(Member member, MemberRecord record) => record.Run > 0 && record.Run == member.Run;

    /// <summary>
    /// Takes a newer incarnation's endpoints. Links to a member that restarted or moved are closed (a restarted member
    /// has new connections, and does not know ours); a member that only refuted keeps its links, and what is on its way
    /// on them arrives (relinking lost it, to be repaired from the senders' buffers). A record that does not say its
    /// <c>run</c> (from a member that predates the field) is taken for a restart.
    /// </summary>
    private void Renew(Member member, MemberRecord record)
    {
        var moved = record.Command != member.CommandEndpoint || record.Events != member.EventsEndpoint;
        if (moved || (record.Incarnation != member.Incarnation && !SameProcess(member, record)))
        {
            // Also when not linked: a dead member's streams may still be listened to, at its old endpoint.
            _transport.Unlink(member, keepListening: false);
            member.Linked = false;
            _detector.Forget(member.Id);
        }

        // What it reads comes with its incarnation (a restart may run another build); a record of the same incarnation
        // that does not say (from a member that predates the field) takes nothing away.
        member.Records = record.Incarnation != member.Incarnation ? record.Records : Math.Max(member.Records, record.Records);
        member.Run = record.Incarnation != member.Incarnation || member.Run == 0 ? record.Run : member.Run;
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
        SetState(member, PeerState.Suspect);
        member.Suspicion = _detector.NewSuspicion(from);
        member.SuspectedBy = from;
        TransmitterCounters.Increment(ref _counters.MeshSuspicions);
        if (_warnings.Allow(WarningKind.PeerSuspected))
        {
            _log.Warning("Peer {PeerId} is suspected by {Suspecter} (incarnation {Incarnation}); declared dead within {Timeout} unless it refutes (sooner as others confirm)",
                member.Id, from == Id ? "this transmitter" : from.ToString(), member.Incarnation, _clock.SpanOf(member.Suspicion.TimeoutTicks * _detector.Factor));
        }
    }

    /// <summary>Our probe of <paramref name="target"/> failed: we suspect it, or confirm the suspicion we hold.</summary>
    private void Suspect(Member target)
    {
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

    private void Declare(Member member, PeerState state, long incarnation, Thid by)
    {
        member.Incarnation = incarnation;
        var suspicion = member.Suspicion;
        var silent = member.LastHeard == long.MinValue ? (TimeSpan?)null : _clock.SpanOf(_clock.Now - member.LastHeard);
        SetState(member, state);
        _detector.Forget(member.Id);
        if (member.Linked || state == PeerState.Left)
        {
            _transport.Unlink(member, keepListening: state == PeerState.Dead);
            member.Linked = false;
        }

        if (state == PeerState.Dead)
        {
            _attempts.Retry(member);
            TransmitterCounters.Increment(ref _counters.MeshDeaths);
            if (_warnings.Allow(WarningKind.PeerSuspected))
            {
                _log.Warning("Peer {PeerId} declared dead by {Declarer} at incarnation {Incarnation} (silent for {Silence}, {Confirmations} suspecting)",
                    member.Id, by == Id ? "this transmitter" : by.ToString(), incarnation, silent, suspicion?.Confirmations ?? 0);
            }
        }
        else
        {
            _attempts.Cancel(member);
            TransmitterCounters.Increment(ref _counters.MeshLeaves);
            _log.Information("Peer {PeerId} left the mesh (incarnation {Incarnation})", member.Id, incarnation);
        }

        _changes.Add(member.ToRecord());
        Gone?.Invoke(member);
    }

    /// <summary>A seed no longer needs joining once a followed member has its endpoint; a dead member's retry ends when it is not dead.</summary>
    private bool Satisfied(Attempt attempt) => attempt.Seed is not null
        ? attempt.Endpoint == CommandEndpoint || _members.Values.Any(m => m.Linked && m.State is PeerState.Alive or PeerState.Suspect && m.CommandEndpoint == attempt.Endpoint)
        : !_members.TryGetValue(attempt.Member!.Value, out var member) || member.State != PeerState.Dead;

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
            Changed?.Invoke();
        }

        Volatile.Write(ref _counters.MeshHealth, _detector.Health);
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
}
