using NetMQ;
using NetMQ.Sockets;
using Thynapse.Core;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The transmitter's event socket (PUB, <see cref="TransmitterOptions.EventsEndpoint"/>): bound from the start and
/// advertised to cells in <c>WLCM.pub</c>, and the socket the mesh publishes on (DESIGN-BRIEF §4): peer transmitters
/// SUBscribe to it, cell records, interest and forwarded events travel on it as streams sequenced per peer so that a
/// gap (PUB drops silently at its high-water mark) is seen and repaired over the peer's command socket. It numbers
/// what it publishes: one sequence for the broadcast topic (<c>$mesh</c>), one per destination for directed messages
/// (topic: the destination's THID), each from 1 in every incarnation (PROTOCOL.md §12.2). Nothing is published while
/// a transmitter has no peers. Owned by the routing thread, which polls it with the command socket.
/// </summary>
internal sealed class PeerFeed : IDisposable
{
    private static readonly byte[] BroadcastTopic = System.Text.Encoding.ASCII.GetBytes(MeshFrames.BroadcastTopic);
    private readonly PublisherSocket _socket = new();
    private readonly Dictionary<Thid, (byte[] Topic, long Seq)> _directed = [];

    /// <summary>Binds the socket; throws <see cref="TransmitterBindException"/> naming the setting when it cannot.</summary>
    public PeerFeed(TransmitterOptions options)
    {
        try
        {
            _socket.Options.Linger = TimeSpan.FromSeconds(1);
            // Forwarded events ride this socket in one message per burst per peer; the default of 1,000 messages would
            // drop a peer's stream after a second of a slow peer at load (each drop then costs a resend).
            _socket.Options.SendHighWatermark = 100_000;
            // With a cluster secret the key pair is derived from it, whatever --curve-key-file says: that key's public half
            // is given to cells, the derived one to no one, so only holders of the secret can read the mesh (§12.12).
            Sockets.SecureServer(_socket, options.Mesh.CreateClusterKey()?.EventCertificate ?? options.CurveCertificate);
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

    /// <summary>The last number used on the broadcast stream (0: none yet).</summary>
    public long BroadcastSeq { get; private set; }

    /// <summary>Takes the next number of the broadcast stream.</summary>
    public long NextBroadcast() => ++BroadcastSeq;

    /// <summary>Takes the next number of the stream directed to <paramref name="destination"/>.</summary>
    public long NextDirected(Thid destination)
    {
        var entry = _directed.TryGetValue(destination, out var current) ? current : (System.Text.Encoding.ASCII.GetBytes(destination.ToString()), 0L);
        entry.Item2++;
        _directed[destination] = entry;
        return entry.Item2;
    }

    /// <summary>The last number used on each directed stream, for pulses.</summary>
    public IReadOnlyDictionary<Thid, long> DirectedSeqs => _directed.ToDictionary(e => e.Key, e => e.Value.Seq);

    /// <summary>Forgets the directed stream to a member that left.</summary>
    public void Forget(Thid destination) => _directed.Remove(destination);

    /// <summary>Publishes a broadcast message (its header frame already carries its number).</summary>
    public void Broadcast(byte[] header) => Send(BroadcastTopic, header);

    /// <summary>Publishes a message directed to <paramref name="destination"/> (numbered with <see cref="NextDirected"/>).</summary>
    public void Direct(Thid destination, byte[] header) => Send(_directed[destination].Topic, header);

    /// <summary>Publishes a message of a forward stream (PROTOCOL.md §12.11) with no records (a <c>GONE</c>).</summary>
    public void Direct(byte[] topic, byte[] header) => Send(topic, header);

    /// <summary>Publishes a <c>FWRD</c> of a forward stream (PROTOCOL.md §12.11): topic, header, and its records, the first <paramref name="length"/> bytes of <paramref name="body"/>.</summary>
    public void Direct(byte[] topic, byte[] header, byte[] body, int length) =>
        _socket.SendMoreFrame(topic).SendMoreFrame(header).SendFrame(body, length);

    private void Send(byte[] topic, byte[] header)
    {
        // PUB never blocks: past a subscriber's high-water mark the message is dropped for it, which its sequence shows.
        _socket.SendMoreFrame(topic).SendFrame(header);
    }

    public void Dispose() => _socket.Dispose();
}
