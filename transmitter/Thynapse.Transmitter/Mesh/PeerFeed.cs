using NetMQ;
using NetMQ.Sockets;
using Thynapse.Core;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The transmitter's event socket (PUB, <see cref="TransmitterOptions.EventsEndpoint"/>): bound from the start and
/// advertised to cells in <c>WLCM.pub</c>, and the socket the mesh publishes on (DESIGN-BRIEF §4): peer transmitters
/// SUBscribe to it, cell records, interest and forwarded events travel on it as streams sequenced per peer so that a
/// gap (PUB drops silently at its high-water mark) is seen and repaired over the peer's command socket. Until the
/// mesh lands nothing is published here. Owned by the routing thread, which polls it with the command socket.
/// </summary>
internal sealed class PeerFeed : IDisposable
{
    private readonly PublisherSocket _socket = new();

    /// <summary>Binds the socket; throws <see cref="TransmitterBindException"/> naming the setting when it cannot.</summary>
    public PeerFeed(TransmitterOptions options)
    {
        try
        {
            _socket.Options.Linger = TimeSpan.FromSeconds(1);
            Sockets.Bind(_socket, nameof(TransmitterOptions.EventsEndpoint), options.EventsEndpoint);
            Endpoint = Core.Endpoint.Connectable(_socket.Options.LastEndpoint!, options.AdvertiseHost);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    /// <summary>The endpoint peers and cells connect to.</summary>
    public string Endpoint { get; }

    /// <summary>The socket, for the routing thread's poller.</summary>
    public ISocketPollable Socket => _socket;

    public void Dispose() => _socket.Dispose();
}
