using NetMQ.Monitoring;
using NetMQ.Sockets;

namespace Thynapse.Transmitter.Tests;

/// <summary>
/// Issue 18, item 8: a connection that keeps talking without a valid <c>HELO</c> (junk, or HELOs refused for a wrong
/// secret) is closed after <see cref="TransmitterOptions.HandshakeTimeout"/>, counted, while a welcomed cell keeps its
/// session (silent connections are FloodFaultTests' SilentConnections_AreClosedAfterTheHandshakeTimeout_WelcomedOnesAreNot).
/// </summary>
[TestClass]
public sealed class HandshakeTimeoutTests : TestBase
{
    private const string Secret = "handshake-secret-000001";

    [TestMethod]
    [Timeout(60_000)]
    public async Task ConnectionsThatTalkWithoutAValidHelo_AreClosedAfterTheTimeout_WelcomedOnesAreNot()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { Secret = Secret, HandshakeTimeout = TimeSpan.FromMilliseconds(700) });
        using var cell = RawClient.Welcomed(transmitter.CommandEndpoint, "handshake.cell", new Newtonsoft.Json.Linq.JObject { ["secret"] = Secret });
        using var junk = Talker(transmitter.CommandEndpoint, out var junkGone, out var junkMonitor);
        using var guesser = Talker(transmitter.CommandEndpoint, out var guesserGone, out var guesserMonitor);
        using var monitors = new CompositeDisposable(junkMonitor, guesserMonitor);
        var guess = $"J HELO {{\"id\":\"{Thynapse.Core.Thid.NewRandom()}\",\"service\":\"guesser\",\"secret\":\"a-wrong-secret-00000\"}}";

        // Both keep talking until they are cut off: junk frames and refused HELOs are no handshake.
        await Eventually.That("the junk talker and the wrong guesser are both closed", () =>
        {
            junk.TrySendFrame("not a command at all"u8.ToArray());
            guesser.TrySendFrame(guess);
            Drain(junk);
            Drain(guesser);
            return junkGone.IsSet && guesserGone.IsSet;
        }, TimeSpan.FromSeconds(20), Ct);

        Assert.IsGreaterThanOrEqualTo(2L, transmitter.Stats.HandshakeTimeouts, "both closings are counted");
        cell.Send("J BEAT");
        Assert.AreEqual("BEAT", cell.ReceiveJson("the welcomed cell's BEAT answer").Command, "the welcomed cell keeps its connection and session");
        await Eventually.That("nothing is left tracked once the talkers are gone",
            async () => await transmitter.InvokeAsync(p => p.Unwelcomed) == 0, TimeSpan.FromSeconds(10), Ct);
    }

    /// <summary>A DEALER that does not reconnect, and an event set once the transmitter closed its connection.</summary>
    private static DealerSocket Talker(string endpoint, out ManualResetEventSlim gone, out NetMQMonitor watching)
    {
        var dealer = new DealerSocket();
        dealer.Options.Linger = TimeSpan.Zero;
        dealer.Options.ReconnectInterval = TimeSpan.FromSeconds(60); // once cut off, stay away
        var closed = new ManualResetEventSlim();
        var monitor = new NetMQMonitor(dealer, $"inproc://handshake-{Guid.NewGuid():N}", SocketEvents.Disconnected);
        monitor.Disconnected += (_, _) => closed.Set();
        _ = monitor.StartAsync();
        dealer.Connect(endpoint);
        gone = closed;
        watching = monitor;
        return dealer;
    }

    private sealed class CompositeDisposable(params IDisposable[] items) : IDisposable
    {
        public void Dispose() => Array.ForEach(items, i => i.Dispose());
    }

    private static void Drain(DealerSocket dealer)
    {
        while (dealer.TryReceiveFrameBytes(out _))
        {
        }
    }
}
