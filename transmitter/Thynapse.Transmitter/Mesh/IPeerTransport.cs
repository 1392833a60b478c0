using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// What <see cref="Membership"/> asks of the network: <see cref="PeerLinks"/> on sockets, a simulated network in tests.
/// Every call is made on the routing thread and returns at once; nothing is awaited. Not on the cells' hot path.
/// </summary>
internal interface IPeerTransport
{
    /// <summary>Follows a member: a command link to its ROUTER (<c>JOIN</c> first, then probes) and its event socket's streams.</summary>
    void Link(Member member);

    /// <summary>
    /// Stops probing a member (dead or left): its command link is closed; <paramref name="keepListening"/> keeps its
    /// event streams subscribed, so that a member wrongly declared dead is heard when it comes back.
    /// </summary>
    void Unlink(Member member, bool keepListening);

    /// <summary>Sends <c>JOIN</c> on a linked member's command link: the whole membership both ways (push-pull, a snapshot).</summary>
    void PushPull(Member member);

    /// <summary>Opens a fresh command link to <paramref name="endpoint"/> and sends <c>JOIN</c>; its <c>MEMB</c> answer arrives as <see cref="Membership.OnAttemptAnswered"/>.</summary>
    void StartAttempt(int attempt, string endpoint);

    /// <summary>Closes an attempt's link (answered or given up).</summary>
    void EndAttempt(int attempt);

    /// <summary>Sends <c>PING</c> on a linked member's command link.</summary>
    void Ping(Member target, ulong nonce, long? suspectedAt);

    /// <summary>Sends <c>PREQ</c> (probe <paramref name="target"/> for me) on a linked member's command link.</summary>
    void PingRequest(Member helper, Thid target, ulong nonce);

    /// <summary>Publishes <c>PONG</c> or <c>PNAK</c> for <paramref name="nonce"/> on this transmitter's event socket, directed to <paramref name="to"/>.</summary>
    void Answer(Thid to, MeshCommand command, ulong nonce);

    /// <summary>Publishes <c>MEMB</c> with <paramref name="records"/> on the broadcast stream.</summary>
    void Broadcast(IReadOnlyList<MemberRecord> records);
}
