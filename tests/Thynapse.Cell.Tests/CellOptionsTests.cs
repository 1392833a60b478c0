namespace Thynapse.Cell.Tests;

/// <summary>Mistakes in <see cref="CellOptions"/> are refused by <see cref="Cell.ConnectAsync"/> with a message saying what to write.</summary>
[TestClass]
public sealed class CellOptionsTests : TestBase
{
    [TestMethod]
    [Timeout(15_000)]
    [DataRow("localhost:4710", "CellOptions.Transmitter: expected tcp://host:port, got 'localhost:4710'. Did you mean tcp://localhost:4710?")]
    [DataRow("http://localhost:4710", "CellOptions.Transmitter: expected tcp://host:port, got 'http://localhost:4710': only tcp:// is supported, not http://. Did you mean tcp://localhost:4710?")]
    [DataRow("tcp://*:4710", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://*:4710': the host '*' is for binding to every interface; a cell connects to one host. Did you mean tcp://127.0.0.1:4710?")]
    [DataRow("", "CellOptions.Transmitter: expected tcp://host:port, got nothing. Did you mean tcp://127.0.0.1:4710?")]
    public async Task ConnectAsync_TransmitterNotTcpHostPort_ThrowsArgumentExceptionSuggestingTheTcpForm(string endpoint, string expected)
    {
        var options = CellOptions.Default with { Transmitter = endpoint, Service = "newcomer" };

        var ex = await Assert.ThrowsExactlyAsync<ArgumentException>(() => Cell.ConnectAsync(options, Ct));

        Assert.AreEqual("Transmitter", ex.ParamName);
        Assert.AreEqual($"{expected} (Parameter 'Transmitter')", ex.Message);
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task ConnectAsync_BadCurveKeys_ThrowArgumentExceptionNamingTheOption()
    {
        var keys = new NetMQ.NetMQCertificate();
        var options = CellOptions.Default with { Service = "curved" };

        var badServer = await Assert.ThrowsExactlyAsync<ArgumentException>(() => Cell.ConnectAsync(options with { TransmitterPublicKey = "short" }, Ct));
        var halfPair = await Assert.ThrowsExactlyAsync<ArgumentException>(() => Cell.ConnectAsync(options with
        {
            TransmitterPublicKey = keys.PublicKeyZ85,
            CurvePublicKey = keys.PublicKeyZ85,
        }, Ct));

        Assert.AreEqual(nameof(CellOptions.TransmitterPublicKey), badServer.ParamName);
        StringAssert.Contains(halfPair.Message, "together");
    }
}
