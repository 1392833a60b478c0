using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Joins tried and tried again (PROTOCOL.md §12.6): each seed until it answers, each dead member until it is not dead,
/// forever — a fresh link and a <c>JOIN</c> per attempt, <c>JoinTimeout</c> to answer, then a pause that doubles from
/// <c>RetryMin</c> to <c>RetryMax</c>, within ±25%. Routing thread only.
/// </summary>
internal sealed class JoinAttempts
{
    private readonly MeshOptions _options;
    private readonly IPeerTransport _transport;
    private readonly StallAwareClock _clock;
    private readonly TransmitterCounters _counters;
    private readonly ILogger _log;
    private readonly LogLimiter _warnings;
    private readonly Random _random;
    private readonly Func<Attempt, bool> _satisfied;
    private readonly Dictionary<int, Attempt> _attempts = [];
    private readonly long _joinTimeout;
    private int _next;

    /// <summary>Attempts are made through <paramref name="transport"/> on the routing clock, and given up as <paramref name="satisfied"/> says.</summary>
    /// <remarks><paramref name="satisfied"/>: true when an attempt is no longer needed (its seed is followed, its member not dead).</remarks>
    public JoinAttempts(MeshOptions options, IPeerTransport transport, StallAwareClock clock, TransmitterCounters counters, ILogger log,
        LogLimiter warnings, Random random, Func<Attempt, bool> satisfied)
    {
        _options = options;
        _transport = transport;
        _clock = clock;
        _counters = counters;
        _log = log;
        _warnings = warnings;
        _random = random;
        _satisfied = satisfied;
        _joinTimeout = clock.TicksOf(options.JoinTimeout);
    }

    public int Count => _attempts.Count;

    /// <summary>A seed's command endpoint, joined at once.</summary>
    public void AddSeed(string endpoint) => New(endpoint, seed: endpoint, member: null).NextAt = _clock.Now;

    /// <summary>A dead member, retried at its last command endpoint after a first pause.</summary>
    public void Retry(Member member)
    {
        if (member.Retry is not { } current || !_attempts.ContainsKey(current))
        {
            var attempt = New(member.CommandEndpoint, seed: null, member.Id);
            attempt.NextAt = _clock.Now + attempt.Backoff.Next();
            member.Retry = attempt.Id;
        }
    }

    /// <summary>The member is not dead any more (or left): its retry ends.</summary>
    public void Cancel(Member member)
    {
        if (member.Retry is { } id && _attempts.TryGetValue(id, out var attempt))
        {
            Remove(attempt);
        }

        member.Retry = null;
    }

    /// <summary>Tries a dead member at once (it was heard from: its JOIN tells it it is held dead).</summary>
    public void Prompt(Member member)
    {
        if (member.Retry is { } id && _attempts.TryGetValue(id, out var attempt) && !attempt.InFlight)
        {
            attempt.NextAt = _clock.Now;
        }
    }

    /// <summary>An answer to an attempt in flight: its link is closed and the attempt returned; false when it was given up already.</summary>
    public bool TryTakeAnswer(int id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Attempt? attempt)
    {
        if (!_attempts.TryGetValue(id, out attempt) || !attempt.InFlight)
        {
            return false;
        }

        _transport.EndAttempt(id);
        attempt.InFlight = false;
        return true;
    }

    /// <summary>Tries the attempt again, at once or after its next pause.</summary>
    public void Again(Attempt attempt, bool now) => attempt.NextAt = _clock.Now + (now ? 0 : attempt.Backoff.Next());

    public void Remove(Attempt attempt)
    {
        if (attempt.InFlight)
        {
            _transport.EndAttempt(attempt.Id);
        }

        _attempts.Remove(attempt.Id);
    }

    /// <summary>Ends every attempt (leaving).</summary>
    public void Clear()
    {
        foreach (var attempt in _attempts.Values.Where(a => a.InFlight))
        {
            _transport.EndAttempt(attempt.Id);
        }

        _attempts.Clear();
    }

    /// <summary>Starts the attempts that are due, gives up those not answered in time.</summary>
    public void Tick()
    {
        if (_attempts.Count == 0)
        {
            return;
        }

        var now = _clock.Now;
        foreach (var attempt in _attempts.Values.ToList())
        {
            if (attempt.InFlight)
            {
                if (now >= attempt.DeadlineAt)
                {
                    GiveUp(attempt, now);
                }
            }
            else if (now >= attempt.NextAt)
            {
                if (_satisfied(attempt))
                {
                    Remove(attempt);
                    continue;
                }

                attempt.InFlight = true;
                attempt.DeadlineAt = now + _joinTimeout;
                TransmitterCounters.Increment(ref _counters.MeshJoinAttempts);
                _transport.StartAttempt(attempt.Id, attempt.Endpoint);
            }
        }
    }

    private void GiveUp(Attempt attempt, long now)
    {
        _transport.EndAttempt(attempt.Id);
        attempt.InFlight = false;
        attempt.Failures++;
        var pause = attempt.Backoff.Next();
        attempt.NextAt = now + pause;
        TransmitterCounters.Increment(ref _counters.MeshJoinFailures);

        // Retried forever: said at the 1st, 2nd, 4th, 8th… failure in a row, and within the limiter's budget.
        if ((attempt.Failures & (attempt.Failures - 1)) == 0 && _warnings.Allow(WarningKind.PeerUnreachable))
        {
            _log.Warning("{What} {Endpoint} did not answer JOIN within {Timeout} ({Failures} in a row); trying again in {Pause}, and forever",
                attempt.Seed is not null ? "Seed" : $"Dead peer {attempt.Member}", attempt.Endpoint, _options.JoinTimeout, attempt.Failures, _clock.SpanOf(pause));
        }
    }

    private Attempt New(string endpoint, string? seed, Thid? member)
    {
        var attempt = new Attempt(++_next, endpoint, seed, member, new Backoff(_clock.TicksOf(_options.RetryMin), _clock.TicksOf(_options.RetryMax), _random));
        _attempts.Add(attempt.Id, attempt);
        return attempt;
    }
}

/// <summary>One endpoint being joined: a seed, or a dead member's retry.</summary>
internal sealed class Attempt(int id, string endpoint, string? seed, Thid? member, Backoff backoff)
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
