using System.Collections;
using System.Net;
using System.Reflection;
using NetMQ;

namespace Thynapse.Transmitter.Wire;

/// <summary>The source address of the connection with a routing id, or null when it cannot be told.</summary>
internal delegate IPAddress? SourceOf(ReadOnlySpan<byte> routingId);

/// <summary>
/// The source address of the connection behind a ROUTER routing id, for limits that are per source (failed
/// authentication, <see cref="Sessions.GuessLimiter"/>).
/// </summary>
/// <remarks>
/// <para>
/// ZeroMQ hands a ROUTER's reader a routing id, not an address: libzmq offers the address as a message property
/// (<c>zmq_msg_gets(msg, "Peer-Address")</c>), NetMQ 4.0.4.5 offers nothing of the kind (its <c>Msg</c> carries no
/// metadata, and it has no ZAP handler, which would see the address at the handshake). The other handles it has do not
/// fit: the monitor's <c>Accepted</c> event gives the accepted socket and its address, but nothing ties it to the
/// routing id assigned later, on another thread (<see cref="ConnectionGuard"/> uses it only to count and close); the
/// kernel's TCP table lists addresses, not ZeroMQ peers.
/// </para>
/// <para>
/// So the address is read where NetMQ keeps it, by reflection on its internals: the ROUTER's table of peers
/// (<c>Router.m_outpipes</c>, routing id → pipe), the pipe's peer, whose sink is the connection's session, its engine
/// (<c>StreamEngine.m_handle</c>), and that socket's <c>RemoteEndPoint</c>. The table belongs to the ROUTER's thread,
/// which is the routing thread that calls this; the rest is set once per connection. Checked against NetMQ 4.0.4.5
/// (<c>PeerAddressesTests</c>); where any link is missing (another NetMQ, a connection already gone) the answer is null
/// and callers count the attempt against one shared unknown source, which still bounds guessing overall.
/// </para>
/// </remarks>
internal sealed class PeerAddresses
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
    private static readonly Assembly NetMq = typeof(NetMQSocket).Assembly;
    private static readonly FieldInfo? OutPipes = NetMq.GetType("NetMQ.Core.Patterns.Router")?.GetField("m_outpipes", Instance);
    private static readonly PropertyInfo? OutpipePipe = NetMq.GetType("NetMQ.Core.Patterns.Router+Outpipe")?.GetProperty("Pipe", Instance);
    private static readonly FieldInfo? PipePeer = NetMq.GetType("NetMQ.Core.Pipe")?.GetField("m_peer", Instance);
    private static readonly FieldInfo? PipeSink = NetMq.GetType("NetMQ.Core.Pipe")?.GetField("m_sink", Instance);
    private static readonly FieldInfo? SessionEngine = NetMq.GetType("NetMQ.Core.SessionBase")?.GetField("m_engine", Instance);
    private static readonly FieldInfo? EngineHandle = NetMq.GetType("NetMQ.Core.Transports.StreamEngine")?.GetField("m_handle", Instance);
    private static readonly PropertyInfo? SocketHandle = typeof(NetMQSocket).GetProperty("SocketHandle", Instance);

    private readonly IDictionary? _outpipes;

    /// <param name="router">The command socket.</param>
    public PeerAddresses(NetMQSocket router)
    {
        try
        {
            _outpipes = OutPipes?.GetValue(SocketHandle?.GetValue(router)) as IDictionary;
        }
        catch (Exception ex) when (ex is TargetException or ArgumentException or MemberAccessException)
        {
            _outpipes = null;
        }
    }

    /// <summary>True when addresses can be read at all (the NetMQ internals are as expected).</summary>
    public bool Available => _outpipes is not null && OutpipePipe is not null && PipePeer is not null && PipeSink is not null
        && SessionEngine is not null && EngineHandle is not null;

    /// <summary>The source address of the connection with <paramref name="routingId"/>, or null when it cannot be told.</summary>
    public IPAddress? Of(ReadOnlySpan<byte> routingId)
    {
        try
        {
            var address = SocketOf(routingId)?.RemoteEndPoint?.Address;
            return address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return null;
        }
    }

    /// <summary>
    /// The TCP connection behind <paramref name="routingId"/> (NetMQ's socket for it), or null when it cannot be told:
    /// what <see cref="HandshakeDeadlines"/> shuts down to close a connection that never sent a valid <c>HELO</c>.
    /// </summary>
    public AsyncIO.AsyncSocket? SocketOf(ReadOnlySpan<byte> routingId)
    {
        if (!Available)
        {
            return null;
        }

        try
        {
            if (_outpipes![routingId.ToArray()] is not { } outpipe
                || OutpipePipe!.GetValue(outpipe) is not { } pipe
                || PipePeer!.GetValue(pipe) is not { } peer
                || PipeSink!.GetValue(peer) is not { } session
                || SessionEngine!.GetValue(session) is not { } engine
                || engine.GetType().GetField("m_handle", Instance) != EngineHandle
                || EngineHandle!.GetValue(engine) is not AsyncIO.AsyncSocket socket)
            {
                return null;
            }

            return socket;
        }
        catch (Exception ex) when (ex is TargetException or ArgumentException or MemberAccessException or ObjectDisposedException
            or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            return null;
        }
    }
}
