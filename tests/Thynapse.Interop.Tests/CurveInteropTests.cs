using NetMQ;
using Thynapse.ProcessKit;
using Thynapse.TestKit;

namespace Thynapse.Interop.Tests;

/// <summary>
/// NetMQ's CURVE interoperates with libzmq's (PROTOCOL.md §1): tests/interop/curve_client.py, plain pyzmq, is welcomed
/// by a CURVE transmitter when it has the transmitter's public key, and gets no answer in plain text or with another key.
/// </summary>
[TestClass]
public sealed class CurveInteropTests : TestBase
{
    private const string Python = PythonZmq.Python;
    private const string Secret = "curve-interop-secret-0001";

    [TestMethod]
    [Timeout(60_000)]
    public async Task PythonCurveClient_WithTheServerKeyIsWelcomed_WithoutItIsNeverAnswered()
    {
        await PythonZmq.RequireAsync(Ct, curve: true);
        var script = Path.Combine(AppContext.BaseDirectory, "interop", "curve_client.py");
        Assert.IsTrue(File.Exists(script), $"the Python client was not copied next to the tests: {script}");
        var keys = new NetMQCertificate();
        await using var transmitter = Transmitters.StartLoopback(o => o with { CurveSecretKey = keys.SecretKeyZ85, Secret = Secret });

        // A Z85 key may begin with '-' (1 in 85): given as its own argument, argparse would take it for an option.
        var plain = await RunAsync(script, Ct, "--endpoint", transmitter.CommandEndpoint, "--secret", Secret, "--timeout", "2");
        var otherKey = await RunAsync(script, Ct, "--endpoint", transmitter.CommandEndpoint, "--secret", Secret, "--timeout", "2", $"--server-key={new NetMQCertificate().PublicKeyZ85}");
        var rightKeyNoSecret = await RunAsync(script, Ct, "--endpoint", transmitter.CommandEndpoint, $"--server-key={keys.PublicKeyZ85}");
        var right = await RunAsync(script, Ct, "--endpoint", transmitter.CommandEndpoint, "--secret", Secret, $"--server-key={keys.PublicKeyZ85}");

        Assert.AreEqual("no answer", plain, "a plain-text libzmq client");
        Assert.AreEqual("no answer", otherKey, "a CURVE client with another server key");
        Assert.AreEqual("answer ERRR 203", rightKeyNoSecret, "CURVE admits the connection; the secret still decides the session");
        Assert.AreEqual("answer WLCM", right, "a CURVE client with the server key and the secret");
        Assert.AreEqual(1, transmitter.Stats.CellsJoined);
    }

    private static async Task<string> RunAsync(string script, CancellationToken ct, params string[] args)
    {
        using var python = ChildProcess.Start(Python, ["-u", script, .. args]);
        var exitCode = await python.WaitForExitAsync(TimeSpan.FromSeconds(20), ct);
        Assert.AreEqual(0, exitCode, $"the Python client failed:\n{string.Join('\n', python.Lines)}");
        return python.Lines.LastOrDefault(l => l.StartsWith("answer", StringComparison.Ordinal) || l == "no answer") ?? $"nothing: {string.Join('\n', python.Lines)}";
    }
}
