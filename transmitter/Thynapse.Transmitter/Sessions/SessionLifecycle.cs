using System.Net;
using System.Security.Cryptography;
using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Reliability;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// Sessions from <c>HELO</c> to their end (PROTOCOL.md §5.1, §5.2, §4.4): join and resume, liveness, the departed cells
/// that may come back, and the end of a session, which tells the other engines in a fixed order (directory,
/// subscriptions, anycatch tracker, output, credit). Routing thread only.
/// </summary>
internal sealed class SessionLifecycle
{

    private readonly List<LocalCell> _expired = [];
    private readonly List<LocalCell> _forgotten = [];
    private readonly TransmitterOptions _options;
    private readonly MessageLimits _limits;
    private static readonly string[] BinaryEncodings = ["J", "B"];
    private static readonly string[] JsonEncodings = ["J"];
    private readonly WelcomeLimits _welcomeLimits;
    private readonly WelcomeDefaults _welcomeDefaults;
    private IReadOnlyList<TransmitterAddress> _transmitters;
    private readonly TransmitterIdentity _identity;
    private readonly TransmitterCounters _counters;
    private readonly StallAwareClock _clock;
    private readonly LogLimiter _warnings;
    private readonly ILogger _log;
    private readonly CellDirectory _directory;
    private readonly DepartedCells _departed;
    private readonly CellAuthenticator _authenticator;
    private readonly CellKeyList _keys;
    private readonly GuessLimiter _guesses;
    private readonly SubscriptionManager _subscriptions;
    private readonly AnycatchTracker _tracker;
    private readonly CellOutput _output;
    private readonly CreditPacer _credit;
    private readonly Responder _responder;
    private readonly long _livenessTicks;
    private readonly long _reservationTicks;
    private bool _shuttingDown;

    public SessionLifecycle(TransmitterOptions options, TransmitterIdentity identity, TransmitterCounters counters, StallAwareClock clock,
        LogLimiter warnings, ILogger log, CellDirectory directory, SubscriptionManager subscriptions, AnycatchTracker tracker,
        CellOutput output, CreditPacer credit, Responder responder)
    {
        _options = options;
        _limits = options.MessageLimits;
        _welcomeLimits = new WelcomeLimits
        {
            Frame = options.MaxFrameBytes,
            Header = options.MaxHeaderBytes,
            Subscriptions = options.MaxSubscriptionsPerCell,
            Metadata = options.MaxMetadataBytes,
            Queue = options.ServiceQueueLimit, // per service: acknowledged anycatch events waiting for room (§4.5, §8.1)
        };
        _welcomeDefaults = new WelcomeDefaults
        {
            Prefetch = options.DefaultPrefetch,
            AckTimeout = (long)options.DefaultAckTimeout.TotalMilliseconds,
            MaxAttempts = options.DefaultMaxAttempts,
        };
        _transmitters = [new TransmitterAddress(identity.Id, identity.CommandEndpoint, identity.EventsEndpoint)];
        _identity = identity;
        _counters = counters;
        _clock = clock;
        _warnings = warnings;
        _log = log;
        _directory = directory;
        _subscriptions = subscriptions;
        _tracker = tracker;
        _output = output;
        _credit = credit;
        _responder = responder;
        _livenessTicks = clock.TicksOf(options.LivenessTimeout);
        _reservationTicks = clock.TicksOf(options.IdReservation);
        _authenticator = new CellAuthenticator(options);
        _keys = new CellKeyList(options);
        _guesses = new GuessLimiter(options.TimeProvider, options.MaxFailedAttempts, options.FailedAttemptBlock);
        _departed = new DepartedCells(options.MaxDepartedCells, options.MaxDepartedSubscriptions, clock.TicksOf(options.DepartedCellMemory));
    }

    /// <summary>
    /// The source address of a connection (<see cref="Wire.PeerAddresses"/>); null, or an answer of null, counts failed
    /// attempts against one shared unknown source.
    /// </summary>
    public Wire.SourceOf? SourceOf { get; set; }

    /// <summary>Departed cells remembered (their multicatch subscriptions still count what they miss).</summary>
    public int Departed => _departed.Count;

    /// <summary><c>HELO</c> on a connection without a session: welcomes the cell (<c>WLCM</c>) or refuses it.</summary>
    public void HandleHelo(ReadOnlySpan<byte> routingId, JObject request)
    {
        // A source that failed too often waits before its next attempt is even looked at: guessing is slowed whatever
        // the number of its connections (§5.1).
        if (_guesses.Count > 0 && !_guesses.MayAttempt(Source(routingId), out var retryAfter, out var blocked))
        {
            TransmitterCounters.Increment(ref _counters.AttemptsThrottled);
            _responder.Reject(routingId, null, Command.Helo, ThynapseErrorCode.TooManyAttempts, blocked
                ? $"too many failed attempts from this address; refused for {(long)Math.Ceiling(retryAfter.TotalMilliseconds)} ms more"
                : $"too many failed attempts from this address; try again in {(long)Math.Ceiling(retryAfter.TotalMilliseconds)} ms", request, quiet: true);
            return;
        }

        // The secret before anything else: a stranger learns nothing about this transmitter, not even which fields it
        // reads (§5.1).
        var admission = _authenticator.Admit(HelloMessage.SecretOf(request), out var allowedServices);
        if (admission == Admission.Refused)
        {
            RefuseAuthentication(routingId, request, HelloMessage.SecretOf(request) is null
                ? "this transmitter requires a secret: set the cell's secret (CellOptions.Secret, HELO 'secret') to the transmitter's (--secret)"
                : "the secret is not this transmitter's: check the cell's secret (CellOptions.Secret) against the transmitter's (--secret)");
            return;
        }

        // HelloMessage checks in the transmitter's order: the version first (§10), then every field, then the metadata's size.
        if (!HelloMessage.TryRead(request, _limits, out var hello, out var code, out var error))
        {
            _responder.Reject(routingId, null, Command.Helo, code, error, request);
            return;
        }

        if (admission == Admission.Services && !allowedServices!.Contains(hello.Service))
        {
            RefuseAuthentication(routingId, request,
                $"this secret may join only as {string.Join(", ", allowedServices.Order(StringComparer.Ordinal))}, not as {hello.Service}");
            return;
        }

        // The cell's CURVE key right after the secret: the proof needs the THID the reader checked.
        if (_keys.Refusal(hello) is { } keyRefusal)
        {
            RefuseAuthentication(routingId, request, keyRefusal, ThynapseErrorCode.KeyNotAllowed);
            return;
        }

        var service = hello.Service;
        var resume = hello.Resume;
        var subscriptions = _subscriptions.ForHelo(hello);
        if (_shuttingDown)
        {
            _responder.Reject(routingId, null, Command.Helo, ThynapseErrorCode.ShuttingDown, "the transmitter is shutting down", request);
            return;
        }

        if (NotReady?.Invoke() is { } notReady)
        {
            TransmitterCounters.Increment(ref _counters.CellsNotReady);
            _responder.Reject(routingId, null, Command.Helo, ThynapseErrorCode.NotReady, notReady, request, quiet: true);
            return;
        }

        var id = hello.Id;
        if (_directory.Count >= _options.MaxCells && !(_directory.TryGetById(id, out var held) && TokenMatches(hello.Resume, held)))
        {
            _responder.Reject(routingId, null, Command.Helo, ThynapseErrorCode.TooManyCells,
                $"this transmitter holds its limit of {_options.MaxCells} cells; join another transmitter, or try again later", request);
            return;
        }

        WelcomeResumed? resumed = null;
        string? keptToken = null;
        long? claim = null;
        if (_directory.TryGetById(id, out var existing))
        {
            // Only the holder of the resume token may take a live id over: ids are not secrets, tokens are.
            if (!TokenMatches(resume, existing))
            {
                RefuseClaim(routingId, request, ThynapseErrorCode.IdInUse, $"cell {id} is connected; a reconnecting cell proves itself with 'resume'");
                return;
            }

            keptToken = existing.ResumeToken;
            claim = existing.Profile.Claim; // the same owner: its claim stands
            Remove(existing, SessionEnd.Resumed); // first: what its backlog held is dropped and counted
            resumed = Resumed(existing);
        }
        else if (ClaimElsewhere?.Invoke(id) is { } elsewhere)
        {
            // Another transmitter serves this cell (its replica says so): only the cell itself moves here, proven by the
            // resume token of its session there, of which the mesh holds only a hash (PROTOCOL.md §12.8, "Claims").
            if (!elsewhere.ProvenBy(id, resume))
            {
                // Not counted as a guess: a moving cell can race its own record's update (a replica one version behind).
                _responder.Reject(routingId, null, Command.Helo, ThynapseErrorCode.IdInUse,
                    $"cell {id} is served by transmitter {elsewhere.Owner}; a cell moving here proves itself with the 'resume' token of its session there", request);
                return;
            }

            keptToken = resume;
            claim = CellClaim.Next(elsewhere.Generation, NowMs());
            if (_departed.TryTake(id, out var stale))
            {
                _subscriptions.RemoveKept(stale); // an older session here, from before the cell moved away
            }

            TransmitterCounters.Increment(ref _counters.CellsMovedIn);
            _log.Information("Cell {CellId} of {Service} moves here from transmitter {From} (claim {Claim})", id, service, elsewhere.Owner, claim);
        }
        else if (_departed.TryGet(id, out var departed))
        {
            // A THID belongs to its cell: for a while after its session ended only the session's token claims it (§4.4).
            var matches = TokenMatches(resume, departed);
            if (!matches && _clock.Now - departed.EndedAt <= _reservationTicks)
            {
                var left = _clock.SpanOf(_reservationTicks - (_clock.Now - departed.EndedAt));
                RefuseClaim(routingId, request, ThynapseErrorCode.IdReserved,
                    $"cell {id}'s session ended {(long)_clock.SpanOf(_clock.Now - departed.EndedAt).TotalMilliseconds} ms ago and its THID is reserved for it for {(long)left.TotalMilliseconds} ms more: re-join with its 'resume' token, or join with a new THID");
                return;
            }

            // The cell comes back after its session ended without a goodbye: tell it what it missed meanwhile.
            _departed.TryTake(id, out _);
            _subscriptions.RemoveKept(departed);
            if (matches)
            {
                resumed = Resumed(departed);
                keptToken = departed.ResumeToken;
            }
        }

        // A resumed session keeps its token: a cell whose HELO crossed a lost connection (or went out on two of them)
        // then proves itself with the same token whichever of its HELOs is answered first. So does a new session whose
        // HELO brings a well-formed token this transmitter never issued (one from a transmitter that restarted, or whose
        // session died before the cell read its welcome): a HELO of the cell answered on a connection it had already
        // given up leaves a departed session here that only the cell's token claims, and the cell still holds that
        // token. Adopting it gives nothing away: the THID is free here and elsewhere, or a branch above refused it.
        var token = keptToken ?? (IsWellFormedToken(resume) ? resume! : NewToken());
        var profile = new CellProfile(id, service)
        {
            Metadata = hello.Metadata ?? [],
            Tags = hello.Tags is { } tags ? [.. tags] : [],
            Claim = claim ?? CellClaim.Next(null, NowMs()),
            Proof = CellClaim.ProofOf(id, token),
        };
        var cell = new LocalCell(routingId.ToArray(), profile, hello.AcceptsBinary, token, _clock.Now);
        _directory.Add(cell);
        var added = subscriptions.Select(wanted => _subscriptions.Add(cell, wanted)).ToList();

        TransmitterCounters.Increment(ref _counters.CellsJoined);
        TransmitterCounters.Add(ref _counters.Cells, 1);
        _log.Information("Cell {CellId} of {Service} joined with {Subscriptions} subscriptions{Resumed}",
            id, service, profile.Subscriptions.Count, resumed is null ? "" : $" (resumed; {resumed.Missed} deliveries missed meanwhile)");

        var welcome = Welcome(cell) with { Credit = hello.Credit ? CreditPacer.Start(cell) : null, Resumed = resumed, Ref = MessageFields.ReadRef(request) };
        _responder.Reply(cell, welcome);
        foreach (var subscription in added)
        {
            _tracker.RoomFreed(subscription); // a returning worker picks up what waited for it
        }
    }

    /// <summary>
    /// The strongest claim another transmitter holds on a cell, as the mesh's replica knows it (null: no mesh, or no
    /// other owner): a cell it names joins here only with the token its proof was made from.
    /// </summary>
    public Func<Thid, CellClaim?>? ClaimElsewhere { get; set; }

    /// <summary>The mesh's readiness gate: null when cells may join, else why not (<c>NOT_READY</c>, PROTOCOL.md §12.8).</summary>
    public Func<string?>? NotReady { get; set; }

    /// <summary>Where cells reach another transmitter, by THID (null: unknown), for the <c>GBYE</c> of a cell that moved.</summary>
    public Func<Thid, TransmitterAddress?>? AddressOf { get; set; }

    /// <summary>
    /// Another transmitter applied a claim on cell <paramref name="id"/>: when it supersedes this transmitter's claim on
    /// a local cell, that session ends at once with <c>GBYE {"reason":"moved"}</c> naming the new owner (a cell is live on
    /// one transmitter only, PROTOCOL.md §12.8), and a departed session of it here is forgotten.
    /// </summary>
    public void ClaimedElsewhere(Thid id, CellClaim claim)
    {
        if (_directory.TryGetById(id, out var cell))
        {
            if (!claim.Supersedes(new CellClaim(cell.Profile.Claim, _identity.Id, cell.Profile.Proof)))
            {
                return;
            }

            _log.Warning("Cell {CellId} of {Service} is claimed by transmitter {Owner} (claim {Claim} over {Ours}); ending its session here",
                id, cell.Service, claim.Owner, claim.Generation, cell.Profile.Claim);
            _output.Send(cell, new GoodbyeMessage(GoodbyeMessage.Moved) { To = AddressOf?.Invoke(claim.Owner) }.ToFrame());
            Remove(cell, SessionEnd.Moved);
        }
        else if (_departed.TryTake(id, out var departed))
        {
            if (claim.Supersedes(new CellClaim(departed.Profile.Claim, _identity.Id, departed.Profile.Proof)))
            {
                _subscriptions.RemoveKept(departed); // it lives elsewhere now: nothing here counts what it misses
            }
            else
            {
                _departed.Add(departed, _forgotten);
                ForgetGhosts();
            }
        }
    }

    /// <summary>
    /// Refuses a <c>HELO</c> for its secret (<c>AUTHENTICATION_FAILED</c>) or its CURVE key (<c>KEY_NOT_ALLOWED</c>):
    /// counted, as a failed attempt too, and nothing else.
    /// </summary>
    private void RefuseAuthentication(ReadOnlySpan<byte> routingId, JObject request, string reason, ThynapseErrorCode code = ThynapseErrorCode.AuthenticationFailed)
    {
        TransmitterCounters.Increment(ref code == ThynapseErrorCode.KeyNotAllowed ? ref _counters.KeysRefused : ref _counters.AuthenticationFailures);
        var source = Failed(routingId);
        if (_warnings.Allow(WarningKind.AuthenticationFailed))
        {
            _log.Warning("Refused HELO from {Peer} (connection {RoutingId}): {Reason}", source, Convert.ToHexString(routingId), reason);
        }

        _responder.Reject(routingId, null, Command.Helo, code, reason, request, quiet: true);
    }

    /// <summary>Counts a failed attempt against its source, logging (rate-limited) when that blocks it; the source.</summary>
    private IPAddress Failed(ReadOnlySpan<byte> routingId)
    {
        var source = Source(routingId);
        if (_guesses.Failed(source))
        {
            TransmitterCounters.Increment(ref _counters.SourcesBlocked);
            if (_warnings.Allow(WarningKind.AuthenticationFailed))
            {
                _log.Warning("Refusing every HELO from {Peer} for {Block} after {Failures} failed attempts", source, _options.FailedAttemptBlock, _options.MaxFailedAttempts);
            }
        }

        return source;
    }

    /// <summary>Where failed attempts of a connection count: its source address, or the one shared unknown source.</summary>
    private IPAddress Source(ReadOnlySpan<byte> routingId) => SourceOf?.Invoke(routingId) ?? IPAddress.IPv6None;

    /// <summary>Refuses a <c>HELO</c> that claims a THID held by another session, live or departed, without its token.</summary>
    private void RefuseClaim(ReadOnlySpan<byte> routingId, JObject request, ThynapseErrorCode code, string reason)
    {
        TransmitterCounters.Increment(ref _counters.ClaimsRefused);
        Failed(routingId);
        _responder.Reject(routingId, null, Command.Helo, code, reason, request);
    }

    /// <summary><c>GBYE</c> from a cell: answered, and its session ends.</summary>
    public void HandleGoodbye(LocalCell cell)
    {
        _responder.Reply(cell, GoodbyeMessage.Instance);
        Remove(cell, SessionEnd.Left);
    }

    /// <summary>
    /// Periodic work on the routing clock: retries owed <c>SLOW</c> notices, ends the sessions of cells silent past the
    /// liveness timeout and of cells whose queue stayed full as long, forgets departed cells past their memory.
    /// </summary>
    public void Tick()
    {
        var now = _clock.Now;
        foreach (var cell in _directory.All)
        {
            if (cell.Output.UnreportedMissed > 0 || cell.Output.UnreportedReplies > 0)
            {
                // A burst may end with drops and nothing after it to carry the SLOW: retry until it goes out. Sending
                // it is also what shows whether a full queue takes anything at all.
                _output.ReportMissed(cell);
            }

            if (now - cell.LastSeen > _livenessTicks || _output.Stuck(cell, _livenessTicks))
            {
                _expired.Add(cell);
            }
        }

        foreach (var cell in _expired)
        {
            Remove(cell, now - cell.LastSeen > _livenessTicks ? SessionEnd.Expired : SessionEnd.CutOff);
        }

        _expired.Clear();
        _departed.Expire(now, _forgotten);
        ForgetGhosts();
    }

    /// <summary>
    /// The known transmitters changed (the mesh's roster): later welcomes list the new ones, and every cell with a session
    /// is told at once with <c>TMTR</c> (PROTOCOL.md §5.19), in order with its other frames.
    /// </summary>
    public void AnnounceTransmitters(IReadOnlyList<TransmitterAddress> transmitters)
    {
        _transmitters = transmitters;
        if (_directory.Count == 0)
        {
            return;
        }

        var frame = new TransmittersMessage(transmitters).ToFrame();
        foreach (var cell in _directory.All.ToList()) // a send may find a cell gone and end its session
        {
            _output.Send(cell, frame);
        }
    }

    /// <summary>
    /// Tells every cell the transmitter is going away (GBYE, after what is batched for it), and ends the sessions. With
    /// other live members in the mesh, each cell is told one of them to move to (<c>to</c>, PROTOCOL.md §5.9), in turn, so
    /// that this transmitter's cells spread evenly over the rest instead of all landing on the first one listed.
    /// </summary>
    public void Shutdown()
    {
        _shuttingDown = true;
        _output.ShuttingDown = true;
        _output.RetryBacklogs(giveUp: true);
        _credit.RetryOwed();
        var others = _transmitters.Skip(1).ToArray(); // this transmitter is listed first
        var goodbyes = others.Length == 0
            ? [new GoodbyeMessage(GoodbyeMessage.Shutdown).ToFrame()]
            : others.Select(to => new GoodbyeMessage(GoodbyeMessage.Shutdown) { To = to }.ToFrame()).ToArray();
        var next = Random.Shared.Next(goodbyes.Length); // several transmitters shutting down at once do not all pick the same first
        foreach (var cell in _directory.All.ToList())
        {
            _output.Send(cell, goodbyes[next++ % goodbyes.Length]);
            Remove(cell, SessionEnd.Shutdown);
        }
    }

    /// <summary>Ends a session, telling the other engines in order; a second call for the same session does nothing.</summary>
    public void Remove(LocalCell cell, SessionEnd reason)
    {
        if (cell.Closed)
        {
            return;
        }

        cell.Closed = true;
        cell.EndedBy = reason;
        cell.EndedAt = _clock.Now;
        _directory.Remove(cell);

        // A cell that may come back (it went silent, stopped reading or lost its connection) leaves its multicatch
        // subscriptions behind for a while, routing nothing but counting what it misses, so that it can be told
        // when it re-joins (§5.2 WLCM.resumed).
        var departs = reason is SessionEnd.Expired or SessionEnd.Disconnected or SessionEnd.CutOff && _options.DepartedCellMemory > TimeSpan.Zero;
        _subscriptions.RemoveAll(cell, keepMulticatch: departs);
        if (departs)
        {
            _directory.Departed();
        }

        _tracker.RedeliverHeldBy(cell, reason switch
        {
            SessionEnd.Left => "its cell left",
            SessionEnd.Expired => "its cell went silent",
            SessionEnd.Resumed => "its cell reconnected",
            SessionEnd.Shutdown => "the transmitter is shutting down",
            SessionEnd.CutOff => "its cell stopped reading",
            SessionEnd.Moved => "its cell moved to another transmitter",
            _ => "its cell disconnected",
        });
        TransmitterCounters.Add(ref _counters.Cells, -1);
        _output.Forget(cell);
        _credit.Forget(cell);
        if (departs)
        {
            _departed.Add(cell, _forgotten);
            ForgetGhosts();
        }

        Count(reason);
        Log(cell, reason);
    }

    private void Count(SessionEnd reason)
    {
        switch (reason)
        {
            case SessionEnd.Left:
                TransmitterCounters.Increment(ref _counters.CellsLeft);
                break;
            case SessionEnd.Expired:
                TransmitterCounters.Increment(ref _counters.CellsExpired);
                break;
            case SessionEnd.Disconnected:
                TransmitterCounters.Increment(ref _counters.CellsDisconnected);
                break;
            case SessionEnd.CutOff:
                TransmitterCounters.Increment(ref _counters.CellsCutOff);
                break;
            case SessionEnd.Moved:
                TransmitterCounters.Increment(ref _counters.CellsMovedOut);
                break;
        }
    }

    private void Log(LocalCell cell, SessionEnd reason)
    {
        if (reason is SessionEnd.Expired or SessionEnd.CutOff)
        {
            if (_warnings.Allow(WarningKind.SessionLost))
            {
                _log.Warning(reason == SessionEnd.Expired
                        ? "Cell {CellId} of {Service} was silent for {Liveness}; ended its session and its {Subscriptions} subscriptions"
                        : "Cell {CellId} of {Service} took nothing from its full queue for {Liveness}; ended its session and its {Subscriptions} subscriptions",
                    cell.Id, cell.Service, _options.LivenessTimeout, cell.Profile.Subscriptions.Count);
            }
        }
        else if (reason != SessionEnd.Shutdown)
        {
            _log.Information("Cell {CellId} of {Service} {Reason}", cell.Id, cell.Service, reason switch
            {
                SessionEnd.Left => "left",
                SessionEnd.Resumed => "resumed on a new connection",
                SessionEnd.Moved => "moved to another transmitter",
                _ => "disconnected",
            });
        }
    }

    /// <summary>Removes the kept multicatch subscriptions of departed cells no longer remembered.</summary>
    private void ForgetGhosts()
    {
        foreach (var ghost in _forgotten)
        {
            _subscriptions.RemoveKept(ghost);
        }

        _forgotten.Clear();
    }

    /// <summary>The <c>WLCM</c> (PROTOCOL.md §5.2), without the per-cell <c>credit</c> and <c>resumed</c>.</summary>
    private WelcomeMessage Welcome(LocalCell cell) => new(_identity.Id, _identity.EventsEndpoint, cell.ResumeToken)
    {
        Heartbeat = (long)_options.HeartbeatInterval.TotalMilliseconds,
        Liveness = (long)_options.LivenessTimeout.TotalMilliseconds,
        Encodings = cell.AcceptsBinary ? BinaryEncodings : JsonEncodings,
        Limits = _welcomeLimits,
        Defaults = _welcomeDefaults,
        Transmitters = _transmitters,
    };

    private static bool TokenMatches(string? resume, LocalCell cell) => resume is not null && CryptographicOperations.FixedTimeEquals(
        System.Text.Encoding.ASCII.GetBytes(resume), System.Text.Encoding.ASCII.GetBytes(cell.ResumeToken));

    /// <summary>
    /// What the cell's earlier session lost and never reported (<c>WLCM.resumed</c>, PROTOCOL.md §5.2): deliveries
    /// dropped for it, including those routed while it was away, and how long it was away and why.
    /// </summary>
    private WelcomeResumed Resumed(LocalCell earlier)
    {
        var resumed = new WelcomeResumed(earlier.Output.UnreportedMissed);
        if (earlier.EndedBy is SessionEnd.Expired or SessionEnd.CutOff or SessionEnd.Disconnected)
        {
            resumed = resumed with
            {
                Away = (long)_clock.SpanOf(_clock.Now - earlier.EndedAt).TotalMilliseconds,
                Ended = earlier.EndedBy switch
                {
                    SessionEnd.Expired => WelcomeResumed.Silent,
                    SessionEnd.CutOff => WelcomeResumed.NotReading,
                    _ => WelcomeResumed.Disconnected,
                },
            };
        }

        earlier.Output.UnreportedMissed = 0;
        return resumed;
    }

    private long NowMs() => _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>A token as <see cref="NewToken"/> makes them (32 lowercase hex digits): unguessable, so it may be adopted.</summary>
    private static bool IsWellFormedToken(string? token) =>
        token is { Length: 32 } && token.AsSpan().IndexOfAnyExcept(LowerHex) < 0;

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
}

/// <summary>Who this transmitter is and where cells reach it, as <c>WLCM</c> and <c>CELL</c> notices say.</summary>
internal sealed record TransmitterIdentity(Thid Id, string CommandEndpoint, string EventsEndpoint);
