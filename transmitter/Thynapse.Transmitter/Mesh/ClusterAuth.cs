using System.Net;
using System.Security.Cryptography;
using System.Text;
using NetMQ;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Sessions;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// What the cluster secret (<see cref="MeshOptions.ClusterSecret"/>, PROTOCOL.md §12.12) gives a transmitter: the key of
/// the proofs exchanged on the command links, and the CURVE key pair of the event socket, both derived from the secret
/// with HKDF-SHA256, so that the secret itself never travels and the event socket's public key is known only to those
/// who hold the secret. Immutable; any thread.
/// </summary>
internal sealed class ClusterKey
{
    private static readonly byte[] Salt = "thynapse-mesh-1"u8.ToArray();
    private readonly byte[] _proofKey;

    public ClusterKey(string secret)
    {
        var material = Encoding.UTF8.GetBytes(secret);
        _proofKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, Salt, "proof"u8.ToArray());
        EventCertificate = NetMQCertificate.CreateFromSecretKey(HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, Salt, "event-socket"u8.ToArray()));
    }

    /// <summary>The event socket's key pair: its PUB is a CURVE server with it, peers' SUBs connect with its public key.</summary>
    public NetMQCertificate EventCertificate { get; }

    /// <summary>A fresh random nonce: 16 bytes, 32 lowercase hexadecimal characters.</summary>
    public static string NewNonce() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The joiner's proof: HMAC over the answerer's challenge and the <c>JOIN</c>'s identity fields.</summary>
    public string JoinProof(string challenge, MemberRecord sender) =>
        Mac($"JOIN\n{challenge}\n{sender.Id}\n{sender.Incarnation}\n{sender.Command}\n{sender.Events}");

    /// <summary>The answerer's proof: HMAC over the joiner's nonce and the answering <c>MEMB</c>'s identity.</summary>
    public string AnswerProof(string nonce, Thid id, long incarnation) => Mac($"MEMB\n{nonce}\n{id}\n{incarnation}");

    /// <summary>True when <paramref name="given"/> is <paramref name="expected"/> (hexadecimal), compared in constant time.</summary>
    public static bool Matches(string expected, string? given) =>
        given is { Length: 64 } && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(given.ToLowerInvariant()));

    /// <summary>True for a nonce or challenge as this transmitter writes them (32 hexadecimal characters).</summary>
    public static bool IsNonce(string? text) => text is { Length: 32 } && text.All(Uri.IsHexDigit);

    private string Mac(string text) => Convert.ToHexStringLower(HMACSHA256.HashData(_proofKey, Encoding.UTF8.GetBytes(text)));
}

/// <summary>
/// The answerer's side of the cluster secret (PROTOCOL.md §12.12): a <c>JOIN</c> from a connection that has not proven
/// the secret is answered with a challenge (<c>CHAL</c>) when it asks for one, and admitted only with a proof over that
/// challenge, once; every other mesh request from such a connection is refused with
/// <c>CLUSTER_AUTHENTICATION_FAILED</c>. A wrong proof counts against its source address in a
/// <see cref="GuessLimiter"/> (the same limits as the cells' <c>HELO</c>s, its own tally), and a source past them is
/// refused with <c>TOO_MANY_ATTEMPTS</c> before anything is compared. Refusals are counted
/// (<c>thynapse.mesh.auth.failures</c>) and logged, rate-limited. Routing thread only.
/// </summary>
internal sealed class ClusterGate(ClusterKey key, TransmitterOptions options, TransmitterCounters counters, MeshLog log)
{
    private const int MaxPendingChallenges = 10_000;

    private readonly Dictionary<byte[], string> _challenges = new(ByteArrayComparer.Instance);
    private readonly Queue<byte[]> _issued = new();
    private readonly GuessLimiter _guesses = new(options.TimeProvider, options.MaxFailedAttempts, options.FailedAttemptBlock);

    public ClusterKey Key => key;

    /// <summary>The source address of a connection of the command socket (set by the transmitter).</summary>
    public SourceOf? SourceOf { get; set; }

    /// <summary>
    /// Decides on a well-formed <c>JOIN</c> from a connection that has not proven the secret: admitted (true; the answer carries
    /// <see cref="AnswerAuth"/>), challenged (false, <paramref name="challenge"/> is the <c>CHAL</c> to
    /// send, nothing refused), or refused (false, a code and <paramref name="error"/>).
    /// </summary>
    public bool Admit(ReadOnlySpan<byte> routingId, JoinMessage join, JObject json, out ThynapseErrorCode code, out string? error, out byte[]? challenge)
    {
        code = ThynapseErrorCode.None;
        error = null;
        challenge = null;
        var auth = json["auth"] as JObject;
        var nonce = auth?["nonce"] is JValue { Type: JTokenType.String } n ? (string?)n : null;
        if (!ClusterKey.IsNonce(nonce))
        {
            return Refuse(routingId, out code, out error, "this mesh requires the cluster secret: start the joining transmitter with --cluster-secret (the same as this one's), which proves it in JOIN 'auth' (PROTOCOL.md §12.12)", guess: false);
        }

        var proof = auth!["proof"] is JValue { Type: JTokenType.String } p ? (string?)p : null;
        var answered = auth["challenge"] is JValue { Type: JTokenType.String } c ? (string?)c : null;
        if (proof is null || answered is null || !_challenges.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(routingId, out var issued) || issued != answered)
        {
            challenge = Challenge(routingId);
            return false; // no proof yet, or one over a challenge of another connection (a reconnection): a challenge
        }

        _challenges.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(routingId); // a challenge is answered once
        if (_guesses.Count > 0 && !_guesses.MayAttempt(Source(routingId), out var retryAfter, out _))
        {
            TransmitterCounters.Increment(ref counters.AttemptsThrottled);
            code = ThynapseErrorCode.TooManyAttempts;
            error = $"too many failed attempts from this address; try again in {(long)Math.Ceiling(retryAfter.TotalMilliseconds)} ms";
            return false;
        }

        if (!ClusterKey.Matches(key.JoinProof(answered, join.Sender), proof))
        {
            return Refuse(routingId, out code, out error, "the JOIN's proof is not of this mesh's cluster secret: check --cluster-secret against the other transmitters'", guess: true);
        }

        return true;
    }

    /// <summary>The answer's <c>auth</c>: the proof over the joiner's nonce, for a <c>JOIN</c> that carries one.</summary>
    public JObject? AnswerAuth(JObject json, Thid id, long incarnation) =>
        (json["auth"] as JObject)?["nonce"] is JValue { Type: JTokenType.String } n && ClusterKey.IsNonce((string?)n)
            ? new JObject { ["proof"] = key.AnswerProof((string)n!, id, incarnation) }
            : null;

    /// <summary>A request other than <c>JOIN</c> from a connection that has not proven the secret.</summary>
    public ThynapseErrorCode RefuseRequest(ReadOnlySpan<byte> routingId, MeshCommand command, out string error)
    {
        Refuse(routingId, out var code, out var reason, $"{MeshCommands.Of(command)} before the cluster secret was proven on this connection: send JOIN first (PROTOCOL.md §12.12)", guess: false);
        error = reason!;
        return code;
    }

    /// <summary>A connection closed: its challenge, if any, is forgotten.</summary>
    public void Disconnected(ReadOnlySpan<byte> routingId) => _challenges.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(routingId);

    private byte[] Challenge(ReadOnlySpan<byte> routingId)
    {
        while (_challenges.Count >= MaxPendingChallenges && _issued.TryDequeue(out var oldest))
        {
            _challenges.Remove(oldest); // bounded: the oldest unanswered challenge goes first
        }

        var id = routingId.ToArray();
        var challenge = ClusterKey.NewNonce();
        if (_challenges.TryAdd(id, challenge))
        {
            _issued.Enqueue(id);
        }
        else
        {
            _challenges[id] = challenge;
        }

        return MeshFrames.Frame(MeshCommand.Chal, new JObject { ["challenge"] = challenge });
    }

    private bool Refuse(ReadOnlySpan<byte> routingId, out ThynapseErrorCode code, out string? error, string reason, bool guess)
    {
        TransmitterCounters.Increment(ref counters.MeshAuthFailures);
        var source = Source(routingId);
        if (guess && _guesses.Failed(source))
        {
            TransmitterCounters.Increment(ref counters.SourcesBlocked);
        }

        if (log.Warnings.Allow(WarningKind.AuthenticationFailed))
        {
            log.Log.Warning("Refused a mesh request from {Peer} (connection {RoutingId}): {Reason}; counted in thynapse.mesh.auth.failures", source, Convert.ToHexString(routingId), reason);
        }

        code = ThynapseErrorCode.ClusterAuthenticationFailed;
        error = reason;
        return false;
    }

    private IPAddress Source(ReadOnlySpan<byte> routingId) => SourceOf?.Invoke(routingId) ?? IPAddress.IPv6None;
}
