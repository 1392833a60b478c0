using System.Net.Sockets;
using NetMQ;
using NetMQ.Sockets;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The DEALERs this transmitter keeps to its peers' command sockets (PROTOCOL.md §12.1): one per followed member and
/// one per join attempt. It sends the requests on them (<c>JOIN</c>, <c>PING</c>, <c>PREQ</c>, <c>RSND</c>) and reads
/// what comes back: the <c>MEMB</c> answering a <c>JOIN</c>, handed to <paramref name="answered"/>, or an <c>ERRR</c>.
/// </summary>
/// <remarks>
/// Every socket belongs to the routing thread's poller: added there, read there, closed there (Linger 0: nothing a
/// DEALER holds matters once its member is gone).
/// </remarks>
/// <remarks>
/// With a cluster secret (<paramref name="key"/>, §12.12) every <c>JOIN</c> carries the link's nonce, and the proof over
/// the answerer's challenge once a <c>CHAL</c> gave one; a <c>MEMB</c> answer that does not prove the secret back over
/// the link's nonce is ignored (an impostor, or a transmitter of another mesh), counted and logged.
/// </remarks>
internal sealed class CommandLinks(TransmitterOptions options, Membership membership, NetMQPoller poller, StallAwareClock clock,
    TransmitterCounters counters, MeshLog log, ClusterKey? key, Action<CommandLink, MembersMessage> answered) : IDisposable
{
    private const int ReceiveBudget = 1024;
    private const int MaxHeld = 64;

    private readonly Dictionary<Thid, CommandLink> _links = [];
    private readonly Dictionary<int, CommandLink> _attempts = [];

    /// <summary>Opens a fresh link to a member's command socket (closing the old one) and sends <c>JOIN</c> on it.</summary>
    public void Follow(Member member)
    {
        Unfollow(member.Id);
        if (Open(member.CommandEndpoint, $"the command socket of peer {member.Id}", member.Id, attempt: null) is { } link)
        {
            _links[member.Id] = link;
            SendJoin(link);
        }
    }

    /// <summary>Closes a member's link, if there is one.</summary>
    public void Unfollow(Thid id)
    {
        if (_links.Remove(id, out var link))
        {
            Close(link);
        }
    }

    /// <summary>Sends <c>JOIN</c> on a member's link (push-pull, a snapshot); false when there is no link to it.</summary>
    public bool Join(Thid id)
    {
        if (!_links.TryGetValue(id, out var link))
        {
            return false;
        }

        SendJoin(link);
        return true;
    }

    public void StartAttempt(int attempt, string endpoint)
    {
        EndAttempt(attempt);
        if (Open(endpoint, endpoint, member: null, attempt) is { } link)
        {
            _attempts[attempt] = link;
            SendJoin(link);
        }
    }

    public void EndAttempt(int attempt)
    {
        if (_attempts.Remove(attempt, out var link))
        {
            Close(link);
        }
    }

    /// <summary>
    /// Sends a request on a member's link; nothing when there is none (its probe fails, or it is gone). Under a cluster
    /// secret, a link whose answerer has not yet admitted it holds its requests until the <c>MEMB</c> (at most
    /// <see cref="MaxHeld"/>; past that they are dropped, as a full queue drops them): sent before, they would be refused.
    /// </summary>
    public void Request(Thid to, byte[] frame)
    {
        if (!_links.TryGetValue(to, out var link))
        {
            return;
        }

        if (key is not null && !link.Admitted)
        {
            if (link.Held.Count < MaxHeld)
            {
                link.Held.Add(frame);
            }

            return;
        }

        Send(link, frame);
    }

    /// <summary>Reads every link (the periodic work: an answer waiting unread does not make a member silent).</summary>
    public void ReadAll()
    {
        foreach (var link in _links.Values.Concat(_attempts.Values).ToList())
        {
            Read(link);
        }
    }

    /// <summary>Closes every link (after the poller has stopped).</summary>
    public void Dispose()
    {
        foreach (var link in _links.Values.Concat(_attempts.Values))
        {
            link.Socket.Dispose();
        }

        _links.Clear();
        _attempts.Clear();
    }

    private CommandLink? Open(string endpoint, string what, Thid? member, int? attempt)
    {
        var dealer = new DealerSocket();
        try
        {
            dealer.Options.Linger = TimeSpan.Zero;
            dealer.Options.SendHighWatermark = 1000;
            dealer.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
            dealer.Options.ReconnectIntervalMax = options.Mesh.RetryMax;
            dealer.Options.IPv4Only = !endpoint.Contains('[', StringComparison.Ordinal);
            Sockets.SecureClient(dealer, options.CurveCertificate);
            var link = new CommandLink(dealer, endpoint, member, attempt) { Nonce = key is null ? "" : ClusterKey.NewNonce() };
            dealer.ReceiveReady += (_, _) => log.Guarded("reading a peer's answer", () =>
            {
                clock.Advance();
                Read(link);
            });
            dealer.Connect(endpoint);
            poller.Add(dealer);
            return link;
        }
        catch (Exception ex) when (ex is NetMQException or SocketException or ArgumentException)
        {
            dealer.Dispose();
            if (log.Warnings.Allow(WarningKind.PeerUnreachable))
            {
                log.Log.Warning("Could not connect to {What} at {Endpoint}: {Reason}", what, endpoint, ex.Message);
            }

            return null;
        }
    }

    private void Close(CommandLink link)
    {
        // Safe inside the socket's own handler: a closed socket raises no further events in this poll (NetMQ checks).
        link.Closed = true;
        if (poller.IsRunning)
        {
            poller.RemoveAndDispose(link.Socket);
        }
        else
        {
            link.Socket.Dispose();
        }
    }

    private void SendJoin(CommandLink link)
    {
        var join = membership.CreateJoin();
        if (key is not null)
        {
            var auth = new JObject { ["nonce"] = link.Nonce };
            if (link.Challenge is { } challenge)
            {
                auth["challenge"] = challenge;
                auth["proof"] = key.JoinProof(challenge, join.Sender);
            }

            join = join with { Auth = auth };
        }

        Send(link, join.ToFrame());
    }

    private void Send(CommandLink link, byte[] frame)
    {
        // A full queue (the peer is unreachable) drops the request: its probe fails, a JOIN is retried.
        if (link.Socket.TrySendFrame(TimeSpan.Zero, frame))
        {
            TransmitterCounters.Increment(ref counters.MeshSent);
        }
    }

    /// <summary>Answers on a command link: <c>MEMB</c> (to our <c>JOIN</c>) or <c>ERRR</c>.</summary>
    private void Read(CommandLink link)
    {
        var dealer = link.Socket;
        for (var i = 0; i < ReceiveBudget && !link.Closed && dealer.TryReceiveFrameBytes(TimeSpan.Zero, out var frame, out var more); i++)
        {
            while (more && dealer.TryReceiveFrameBytes(TimeSpan.Zero, out _, out more))
            {
            }

            TransmitterCounters.Increment(ref counters.MeshReceived);
            if (frame.Length >= FrameHeader.PrefixLength && frame.AsSpan(2, 4).SequenceEqual("ERRR"u8))
            {
                OnRefused(link, frame);
                continue;
            }

            if (MeshFrames.TryParse(frame, out var command, out var json, out var error) && command == MeshCommand.Chal)
            {
                OnChallenge(link, json!);
                continue;
            }

            if (error is not null || command != MeshCommand.Memb || !MembersMessage.TryRead(json!, out var answer, out error))
            {
                log.Malformed("an answer on a command link", error ?? $"expected MEMB, got {MeshCommands.Of(command)}");
                continue;
            }

            if (key is not null && !ClusterKey.Matches(key.AnswerProof(link.Nonce, answer!.Header.Id, answer.Header.Incarnation), (json!["auth"] as JObject)?["proof"]?.Type == JTokenType.String ? (string?)json["auth"]!["proof"] : null))
            {
                AuthenticationFailed(link, "its MEMB answer does not prove the cluster secret: an impostor, or a transmitter of another mesh (check --cluster-secret); ignored");
                continue;
            }

            if (!link.Admitted)
            {
                link.Admitted = true;
                foreach (var held in link.Held)
                {
                    Send(link, held);
                }

                link.Held.Clear();
            }

            answered(link, answer!); // an attempt's answer closes its socket: the loop ends
        }
    }

    /// <summary>A <c>CHAL</c>: the answerer wants the proof of the cluster secret over its challenge; <c>JOIN</c> again with it.</summary>
    private void OnChallenge(CommandLink link, JObject json)
    {
        var challenge = json["challenge"] is JValue { Type: JTokenType.String } c ? (string?)c : null;
        if (key is null)
        {
            AuthenticationFailed(link, "it requires the cluster secret: start this transmitter with --cluster-secret (the same as the mesh's)");
            return;
        }

        if (!ClusterKey.IsNonce(challenge))
        {
            log.Malformed("an answer on a command link", "CHAL without a 'challenge' of 32 hexadecimal characters");
            return;
        }

        link.Challenge = challenge;
        SendJoin(link);
    }

    private void AuthenticationFailed(CommandLink link, string reason)
    {
        TransmitterCounters.Increment(ref counters.MeshAuthFailures);
        if (log.Warnings.Allow(WarningKind.AuthenticationFailed))
        {
            log.Log.Warning("Peer {Peer}: {Reason}; counted in thynapse.mesh.auth.failures", link.Member?.ToString() ?? $"at {link.Endpoint}", reason);
        }
    }

    private void OnRefused(CommandLink link, byte[] frame)
    {
        var text = System.Text.Encoding.UTF8.GetString(frame, Math.Min(frame.Length, FrameHeader.PayloadOffset), Math.Max(0, frame.Length - FrameHeader.PayloadOffset));
        var json = JsonPayload.TryParse(frame.AsSpan(Math.Min(frame.Length, FrameHeader.PayloadOffset)), out var parsed, out _) ? parsed : null;
        var code = json?["code"] is JValue { Type: JTokenType.Integer } c ? (int)c : (int?)null;
        var refused = json?["command"] is JValue { Type: JTokenType.String } n ? (string?)n : null;
        if (log.Warnings.Allow(WarningKind.PeerRefused))
        {
            log.Log.Warning("Peer {Peer} refused {Command}: {Reason}", link.Member?.ToString() ?? $"at {link.Endpoint}", refused ?? "a request", text);
        }

        // A peer that restarted on the same endpoint does not know this connection (ZeroMQ reconnected it unseen):
        // prove it again. Never for a refused JOIN, which would loop with a transmitter that speaks no mesh; a JOIN
        // refused for its proof is challenged afresh next time (a challenge is answered once).
        if (code is (int)ThynapseErrorCode.UnknownCommand or (int)ThynapseErrorCode.ClusterAuthenticationFailed && refused is "PING" or "PREQ" or "RSND" && link.Member is not null)
        {
            link.Admitted = false; // the answerer no longer knows this connection: requests wait for its MEMB again
            SendJoin(link);
        }
        else if (refused is "JOIN")
        {
            link.Challenge = null;
        }
    }
}

/// <summary>A DEALER to a peer's command socket: a followed member's link, or a join attempt's.</summary>
internal sealed class CommandLink(DealerSocket socket, string endpoint, Thid? member, int? attempt)
{
    public DealerSocket Socket { get; } = socket;

    public string Endpoint { get; } = endpoint;

    public Thid? Member { get; } = member;

    public int? Attempt { get; } = attempt;

    public bool Closed { get; set; }

    /// <summary>With a cluster secret: this link's nonce, which the answerer's proof covers (§12.12).</summary>
    public string Nonce { get; init; } = "";

    /// <summary>Under a cluster secret: true once a <c>MEMB</c> proved the answerer admitted this link.</summary>
    public bool Admitted { get; set; }

    /// <summary>Requests waiting for <see cref="Admitted"/>.</summary>
    public List<byte[]> Held { get; } = [];

    /// <summary>The answerer's last challenge (<c>CHAL</c>) on this link, which the next <c>JOIN</c> proves the secret over.</summary>
    public string? Challenge { get; set; }
}
