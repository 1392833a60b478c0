namespace Thynapse.Core.Tests;

[TestClass]
public sealed class EndpointTests
{
    [TestMethod]
    [DataRow("tcp://127.0.0.1:4710")]
    [DataRow("tcp://localhost:1")]
    [DataRow("tcp://transmitter-1.example.com:65535")]
    [DataRow("tcp://[::1]:4710")]
    public void TryValidate_AcceptsConnectableEndpoints(string endpoint) =>
        Assert.IsTrue(Endpoint.TryValidate(endpoint, "X", bind: false, 4710, out var error), error);

    [TestMethod]
    [DataRow("tcp://*:4710")]
    [DataRow("tcp://*:*")]
    [DataRow("tcp://127.0.0.1:0")]
    [DataRow("tcp://0.0.0.0:4711")]
    public void TryValidate_AcceptsBindableEndpoints(string endpoint) =>
        Assert.IsTrue(Endpoint.TryValidate(endpoint, "X", bind: true, 4710, out var error), error);

    [TestMethod]
    [DataRow("localhost:4710", "CellOptions.Transmitter: expected tcp://host:port, got 'localhost:4710'. Did you mean tcp://localhost:4710?")]
    [DataRow("http://localhost:4710", "CellOptions.Transmitter: expected tcp://host:port, got 'http://localhost:4710': only tcp:// is supported, not http://. Did you mean tcp://localhost:4710?")]
    [DataRow("https://10.0.0.5/", "CellOptions.Transmitter: expected tcp://host:port, got 'https://10.0.0.5/': only tcp:// is supported, not https://. Did you mean tcp://10.0.0.5:4710?")]
    [DataRow("localhost", "CellOptions.Transmitter: expected tcp://host:port, got 'localhost'. Did you mean tcp://localhost:4710?")]
    [DataRow("4710", "CellOptions.Transmitter: expected tcp://host:port, got '4710'. Did you mean tcp://127.0.0.1:4710?")]
    [DataRow("", "CellOptions.Transmitter: expected tcp://host:port, got nothing. Did you mean tcp://127.0.0.1:4710?")]
    [DataRow("tcp://localhost", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://localhost' (no port). Did you mean tcp://localhost:4710?")]
    [DataRow("tcp://:4710", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://:4710' (no host). Did you mean tcp://127.0.0.1:4710?")]
    [DataRow("tcp://localhost:4710/", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://localhost:4710/' (an endpoint has no path). Did you mean tcp://localhost:4710?")]
    [DataRow(" tcp://localhost:4710", "CellOptions.Transmitter: expected tcp://host:port, got ' tcp://localhost:4710' (it contains white space). Did you mean tcp://localhost:4710?")]
    [DataRow("tcp://localhost:http", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://localhost:http': the port must be a number from 1 to 65535.")]
    [DataRow("tcp://localhost:70000", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://localhost:70000': the port must be a number from 1 to 65535.")]
    [DataRow("tcp://*:4710", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://*:4710': the host '*' is for binding to every interface; a cell connects to one host. Did you mean tcp://127.0.0.1:4710?")]
    [DataRow("tcp://localhost:0", "CellOptions.Transmitter: expected tcp://host:port, got 'tcp://localhost:0': the port 0 is for binding to any free port; a cell connects to the port the transmitter bound. Did you mean tcp://localhost:4710?")]
    public void TryValidate_ForConnecting_SaysWhatWasExpectedAndGuessesTheFix(string endpoint, string expected)
    {
        Assert.IsFalse(Endpoint.TryValidate(endpoint, "CellOptions.Transmitter", bind: false, 4710, out var error));
        Assert.AreEqual(expected, error);
    }

    [TestMethod]
    [DataRow("localhost:5000", "--command: expected tcp://host:port, got 'localhost:5000'. Did you mean tcp://localhost:5000?")]
    [DataRow("*:5000", "--command: expected tcp://host:port, got '*:5000'. Did you mean tcp://*:5000?")]
    [DataRow(":5000", "--command: expected tcp://host:port, got ':5000'. Did you mean tcp://*:5000?")]
    [DataRow("http://0.0.0.0:8080", "--command: expected tcp://host:port, got 'http://0.0.0.0:8080': only tcp:// is supported, not http://. Did you mean tcp://0.0.0.0:8080?")]
    [DataRow("tcp://*:-1", "--command: expected tcp://host:port, got 'tcp://*:-1': the port must be a number from 0 to 65535, or * (0 and * pick a free port).")]
    public void TryValidate_ForBinding_AllowsWildcardsInItsSuggestions(string endpoint, string expected)
    {
        Assert.IsFalse(Endpoint.TryValidate(endpoint, "--command", bind: true, 4710, out var error));
        Assert.AreEqual(expected, error);
    }
}
