using System.Net;
using System.Net.Sockets;

namespace Thynapse.Transmitter.Tests;

/// <summary>
/// Issue 18, item 6: <see cref="TransmitterOptions.MaxConnectionsPerAddress"/>. Past it a new connection from that
/// address is closed at once and counted; other addresses are not affected; a closed connection frees its place.
/// </summary>
[TestClass]
public sealed class ConnectionsPerAddressTests : TestBase
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task ConnectionsPastTheLimitOfOneAddress_AreClosed_OthersAndFreedPlacesAreNot()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { MaxConnectionsPerAddress = 3, HandshakeTimeout = TimeSpan.Zero });
        var port = int.Parse(transmitter.CommandEndpoint.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);
        var sockets = new List<Socket>();
        async Task<Socket> Connect(string from)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            sockets.Add(socket);
            socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), Ct);
            return socket;
        }

        async Task Accepted(int count) =>
            await Eventually.That($"{count} connections accepted", () => transmitter.Stats.ConnectionsAccepted >= count, TimeSpan.FromSeconds(10), Ct);

        try
        {
            var first = await Connect("127.0.0.1");
            await Connect("127.0.0.1");
            await Connect("127.0.0.1");
            await Accepted(3);
            Assert.IsTrue(await RawSockets.ClosedByPeerAsync(await Connect("127.0.0.1"), TimeSpan.FromSeconds(10), Ct), "the fourth connection from 127.0.0.1 is closed");
            Assert.AreEqual(1L, transmitter.Stats.ConnectionsRefusedPerAddress, "and counted");

            await Connect("127.0.0.2"); // another source: its own count
            await Accepted(5);
            first.Dispose(); // frees a place of 127.0.0.1
            await Eventually.That("the closed connection is noticed", () => transmitter.Stats.Connections <= 3, TimeSpan.FromSeconds(10), Ct);
            await Connect("127.0.0.1");
            await Accepted(6);
            Assert.IsTrue(await RawSockets.ClosedByPeerAsync(await Connect("127.0.0.1"), TimeSpan.FromSeconds(10), Ct), "at the limit again, the next from 127.0.0.1 is closed");
            Assert.AreEqual(2L, transmitter.Stats.ConnectionsRefusedPerAddress,
                "two refusals in all: 127.0.0.2's connection and the one in the freed place were accepted");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }
}
