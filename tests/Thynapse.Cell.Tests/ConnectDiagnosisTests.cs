using System.Net;
using System.Net.Sockets;
using Thynapse.ProcessKit;

namespace Thynapse.Cell.Tests;

/// <summary>
/// Issue 15, finding 8: a cell that gets no welcome says why — nothing listens there, or the peer closed the connection
/// (the events port given by mistake), or it connected and got no answer — and names the option to fix.
/// </summary>
[TestClass]
public sealed class ConnectDiagnosisTests : TestBase
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(2);

    [TestMethod]
    [Timeout(15_000)]
    public async Task NothingListening_SaysNoConnectionCouldBeMadeAndHowToStartATransmitter()
    {
        var endpoint = $"tcp://127.0.0.1:{Ports.Free()}";

        var ex = await Assert.ThrowsExactlyAsync<ThynapseTimeoutException>(() => Connect(endpoint));

        TestContext.WriteLine(ex.Message);
        StringAssert.Contains(ex.Message, $"No welcome from {endpoint} within 00:00:02 (CellOptions.ConnectTimeout): no TCP connection could be made");
        StringAssert.Contains(ex.Message, $"Is a transmitter running at {endpoint}?");
        StringAssert.Contains(ex.Message, "CellOptions.Transmitter");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task EventsPortByMistake_SaysThePeerClosedTheConnectionAndNamesTheCommandPort()
    {
        var transmitter = SharedTransmitter.Instance;

        var ex = await Assert.ThrowsExactlyAsync<ThynapseTimeoutException>(() => Connect(transmitter.EventsEndpoint));

        TestContext.WriteLine(ex.Message);
        StringAssert.Contains(ex.Message, "the peer closed the connection");
        StringAssert.Contains(ex.Message, "Is that the transmitter's command endpoint (--command, default port 4710)?");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task PeerThatAcceptsButNeverAnswers_SaysHeloGotNoAnswer()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var accepting = new CancellationTokenSource();
        var held = new List<TcpClient>();
        var accept = Task.Run(async () =>
        {
            while (!accepting.IsCancellationRequested)
            {
                held.Add(await listener.AcceptTcpClientAsync(accepting.Token));
            }
        });

        var ex = await Assert.ThrowsExactlyAsync<ThynapseTimeoutException>(() => Connect($"tcp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"));

        await accepting.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => accept);
        held.ForEach(c => c.Dispose());
        TestContext.WriteLine(ex.Message);
        StringAssert.Contains(ex.Message, "connected, but HELO got no answer");
    }

    /// <summary>
    /// Review finding 2: a host that does not resolve makes NetMQ's Connect throw a SocketException. Each attempt
    /// leaked its DEALER and monitor (only NetMQException was caught), and the diagnosis blamed a missing transmitter.
    /// </summary>
    [TestMethod]
    [Timeout(15_000)]
    public async Task UnresolvableHost_SaysSoAndLeaksNoSocket()
    {
        const string host = "no-such-host.invalid"; // RFC 2606: never resolves
        var endpoint = $"tcp://{host}:4710";
        Thynapse.Cell.Cell? cell = null;

        var ex = await Assert.ThrowsExactlyAsync<ThynapseTimeoutException>(() => Thynapse.Cell.Cell.ConnectCoreAsync(
            CellOptions.Default with { Transmitter = endpoint, Service = "newcomer", ConnectTimeout = Patience }, c => cell = c, Ct));

        TestContext.WriteLine(ex.Message);
        Assert.IsNotNull(cell);
        Assert.AreEqual(0, cell.SocketsOpen, "every attempt's DEALER and monitor were disposed");
        StringAssert.Contains(ex.Message, $"No welcome from {endpoint} within 00:00:02 (CellOptions.ConnectTimeout): could not resolve host '{host}' in CellOptions.Transmitter");
    }

    /// <summary>
    /// Review finding 13: each attempt at a session sends a HELO on a new link and waits for its answer; an attempt whose
    /// connection closed unanswered left its HELO in the table of requests waiting for an answer, for good.
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task AttemptsClosedBeforeAWelcome_LeaveNoHeloWaitingForAnAnswer()
    {
        await using var transmitter = Transmitters.StartLoopback();
        await using var relay = new TcpRelay(new Uri(transmitter.CommandEndpoint).Port) { Accepting = false };
        Thynapse.Cell.Cell? cell = null;
        var connecting = Thynapse.Cell.Cell.ConnectCoreAsync(CellOptions.Default with { Transmitter = relay.Endpoint, Service = "persistent" }, c => cell = c, Ct);
        await Eventually.That("four attempts were closed before a welcome", () => cell?.LinksOpened >= 4, cancellationToken: Ct);

        relay.Accepting = true;
        await using var connected = await connecting.Within("the welcome once the relay lets the cell through");

        var waiting = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        connected.RunOnSocketThread(() => waiting.SetResult(connected.RequestsWaiting));
        Assert.AreEqual(0, await waiting.Task.Within("the count of requests waiting"), $"after {connected.LinksOpened} links, no HELO is still waiting");
    }

    private Task<Thynapse.Cell.Cell> Connect(string endpoint) =>
        Thynapse.Cell.Cell.ConnectAsync(CellOptions.Default with { Transmitter = endpoint, Service = "newcomer", ConnectTimeout = Patience }, Ct);
}
