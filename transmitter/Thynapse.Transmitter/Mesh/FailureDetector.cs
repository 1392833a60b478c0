using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// SWIM's failure detector with Lifeguard's local health (PROTOCOL.md §12.7): it probes one member per interval in turn
/// and any member that has been silent, asks helpers to probe when a direct probe goes unanswered, relays the probes it
/// runs for others, and times the suspicions <see cref="Membership"/> holds. What it finds it reports back (a probe
/// failed, a suspicion expired); what the members are, <see cref="Membership"/> decides. Routing thread only.
/// </summary>
internal sealed class FailureDetector
{
    private readonly MeshOptions _options;
    private readonly IPeerTransport _transport;
    private readonly StallAwareClock _clock;
    private readonly TransmitterCounters _counters;
    private readonly Random _random;
    private readonly IReadOnlyDictionary<Thid, Member> _members;
    private readonly Action<Member> _failed;
    private readonly Action<Member> _expired;
    private readonly LocalHealth _health;
    private readonly Dictionary<ulong, Probe> _probes = [];
    private readonly Dictionary<Thid, Probe> _probing = [];
    private readonly Dictionary<ulong, Relay> _relays = [];
    private readonly List<Thid> _order = [];
    private readonly long _probeInterval;
    private readonly long _probeTimeout;
    private int _orderIndex;
    private long _lastStalled;
    private long _nextProbeAt;
    private ulong _nonce;

    /// <param name="options">Intervals, timeouts, helpers, suspicion multipliers.</param>
    /// <param name="transport">Where probes go.</param>
    /// <param name="clock">The routing clock (its stalls lower the local health).</param>
    /// <param name="counters">The transmitter's counters.</param>
    /// <param name="random">Shuffles the probing order, picks the helpers.</param>
    /// <param name="members">The members, owned by <see cref="Membership"/>; read here, never changed.</param>
    /// <param name="failed">A probe of this member got no answer, direct or indirect, within its interval.</param>
    /// <param name="expired">This suspect member's suspicion has lasted its timeout.</param>
    public FailureDetector(MeshOptions options, IPeerTransport transport, StallAwareClock clock, TransmitterCounters counters, Random random,
        IReadOnlyDictionary<Thid, Member> members, Action<Member> failed, Action<Member> expired)
    {
        _options = options;
        _transport = transport;
        _clock = clock;
        _counters = counters;
        _random = random;
        _members = members;
        _failed = failed;
        _expired = expired;
        _health = new LocalHealth(options.MaxLocalHealth);
        _probeInterval = clock.TicksOf(options.ProbeInterval);
        _probeTimeout = clock.TicksOf(options.ProbeTimeout);
        _lastStalled = clock.Stalled;
    }

    /// <summary>The local health score (0: healthy).</summary>
    public int Health => _health.Score;

    /// <summary>What this transmitter's timeouts are stretched by: health + 1.</summary>
    public int Factor => _health.Factor;

    /// <summary>
    /// A suspicion of a member, started now (Lifeguard): it expects <c>SuspicionMultiplier − 2</c> confirmations, none in
    /// a mesh too small to give them, and lasts from min = mult × max(1, log10 n) probe intervals up to max = maxMult × min.
    /// </summary>
    public Suspicion NewSuspicion(Thid from)
    {
        var n = 1 + _members.Values.Count(m => m.State is PeerState.Alive or PeerState.Suspect);
        var expected = _options.SuspicionMultiplier - 2;
        if (n - 2 < expected)
        {
            expected = 0;
        }

        var min = (long)(_options.SuspicionMultiplier * Math.Max(1.0, Math.Log10(n)) * _probeInterval);
        return new Suspicion(from, _clock.Now, expected, min, _options.SuspicionMaxMultiplier * min);
    }

    /// <summary>This transmitter had to refute a suspicion of itself: it may be the slow one.</summary>
    public void Refuted() => _health.Apply(1);

    /// <summary>Anything from a member answers its probe in flight, and the probes run for others that target it.</summary>
    public void Heard(Member member)
    {
        if (_probing.TryGetValue(member.Id, out var probe))
        {
            Acknowledge(probe);
        }

        if (_relays.Count > 0)
        {
            foreach (var (nonce, relay) in _relays.Where(r => r.Value.Target == member.Id).ToList())
            {
                _relays.Remove(nonce);
                _transport.Answer(relay.Requester, MeshCommand.Pong, relay.Nonce);
            }
        }
    }

    /// <summary>Probes a member now, out of turn (its connection to us closed), unless a probe of it runs.</summary>
    public void Prod(Member member)
    {
        if (Probeable(member))
        {
            StartProbe(member, _clock.Now);
        }
    }

    /// <summary>Drops the probe of a member that is dead, left, or a new incarnation.</summary>
    public void Forget(Thid id)
    {
        if (_probing.Remove(id, out var probe))
        {
            _probes.Remove(probe.Nonce);
        }
    }

    /// <summary>Probe another member for <paramref name="from"/>: its answer is relayed, or a nack sent after our probe timeout.</summary>
    public void OnPingRequest(Thid self, Thid from, PingRequestMessage request)
    {
        if (request.Target == self)
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

    /// <summary>A <c>PONG</c> or <c>PNAK</c> for one of our nonces: a probe answered (directly or relayed), a helper's nack, or an answer to relay.</summary>
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

    /// <summary>Periodic work on the routing clock: own stalls, probes in flight, relays, suspicions, new probes.</summary>
    public void Tick()
    {
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
        foreach (var member in _members.Values.Where(m => m.State == PeerState.Suspect && m.Suspicion!.HasExpired(now, factor)).ToList())
        {
            _expired(member);
        }

        StartProbes(now, factor);
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
                Forget(probe.Target);
                continue;
            }

            if (!probe.Indirect && now - probe.Started >= _probeTimeout * factor)
            {
                probe.Indirect = true;
                foreach (var helper in Helpers(probe.Target))
                {
                    _transport.PingRequest(helper, probe.Target, probe.Nonce);
                    probe.Expected++;
                    TransmitterCounters.Increment(ref _counters.MeshIndirectProbes);
                }
            }

            if (now - probe.Started >= _probeInterval * factor)
            {
                Forget(probe.Target);
                TransmitterCounters.Increment(ref _counters.MeshProbesFailed);

                // Helpers that did not even nack: the trouble may be ours (Lifeguard). With no helper there is no evidence either way.
                if (probe.Expected > probe.Nacks)
                {
                    _health.Apply(probe.Expected - probe.Nacks);
                }

                _failed(target);
            }
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

    private void Acknowledge(Probe probe)
    {
        Forget(probe.Target);
        _health.Apply(-1);
    }

    private List<Member> Helpers(Thid target)
    {
        var candidates = _members.Values.Where(m => m.Linked && m.State == PeerState.Alive && m.Id != target).ToList();
        Shuffle(candidates);
        if (candidates.Count > _options.IndirectProbes)
        {
            candidates.RemoveRange(_options.IndirectProbes, candidates.Count - _options.IndirectProbes);
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
}
