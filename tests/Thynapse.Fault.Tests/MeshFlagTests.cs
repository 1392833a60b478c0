using static Thynapse.Fault.Tests.HostRuns;

namespace Thynapse.Fault.Tests;

/// <summary>
/// The executable's mesh settings: <c>--peer</c> (repeatable), <c>THYNAPSE_PEERS</c> (comma-separated) and <c>--id</c>,
/// their mistakes named with the flag and the fix, and real processes joining with them.
/// </summary>
[TestClass]
public sealed class MeshFlagTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    [DataRow(new[] { "--peer", "10.0.0.2" },
        "Invalid setting: --peer [env: THYNAPSE_PEERS]: expected tcp://host:port, got '10.0.0.2'. Did you mean tcp://10.0.0.2:4710? A peer is another transmitter's command endpoint.")]
    [DataRow(new[] { "--peer", "tcp://10.0.0.1:4710", "--peer", "tcp://*:4710" },
        "Invalid setting: --peer [env: THYNAPSE_PEERS] (entry 2): expected tcp://host:port, got 'tcp://*:4710': the host '*' is for binding to every interface; a cell connects to one host. Did you mean tcp://127.0.0.1:4710? A peer is another transmitter's command endpoint.")]
    [DataRow(new[] { "--id", "transmitter-1" },
        "Invalid setting: --id [env: THYNAPSE_ID] must be a THID, 40 hexadecimal characters; got 'transmitter-1'.")]
    public async Task MeshSetting_Invalid_ExitsWithOneNamingTheFlagAndTheFix(string[] settings, string expected)
    {
        var lines = await RunToExitAsync(1, null, Ct, ["--command", "tcp://127.0.0.1:0", "--events", "tcp://127.0.0.1:0", .. settings]);

        AssertSaysOnce(expected, lines);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task PeersVariable_IsACommaSeparatedList_NamedInItsErrors()
    {
        var environment = new Dictionary<string, string> { ["THYNAPSE_PEERS"] = "tcp://10.0.0.1:4710, localhost:4710" };

        var lines = await RunToExitAsync(1, environment, Ct, "--command", "tcp://127.0.0.1:0", "--events", "tcp://127.0.0.1:0");

        AssertSaysOnce("Invalid setting: --peer [env: THYNAPSE_PEERS] (entry 2): expected tcp://host:port, got 'localhost:4710'. Did you mean tcp://localhost:4710? A peer is another transmitter's command endpoint.", lines);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Processes_JoinThroughTheVariableAndRepeatedFlags_OneSeedDownIsRetried()
    {
        using var a = await TransmitterProcess.StartAsync(cancellationToken: Ct);
        var bCommand = $"tcp://127.0.0.1:{Ports.Free()}";
        using var b = TransmitterProcess.Run(new Dictionary<string, string> { ["THYNAPSE_PEERS"] = a.CommandEndpoint },
            "--command", bCommand, "--events", $"tcp://127.0.0.1:{Ports.Free()}");
        await b.WaitForLineAsync("routing on", cancellationToken: Ct);
        var down = $"tcp://127.0.0.1:{Ports.Free()}";
        var id = Thid.NewRandom();
        using var c = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", down, "--peer", bCommand, "--id", id.ToString()]);

        await b.WaitForLineAsync("Joined the mesh through seed " + a.CommandEndpoint, cancellationToken: Ct);
        await c.Process.WaitForLineAsync("Joined the mesh through seed " + bCommand, cancellationToken: Ct);
        await a.Process.WaitForLineAsync($"Peer {id} joined the mesh", cancellationToken: Ct);
        await c.Process.WaitForLineAsync($"Seed {down} did not answer JOIN", TimeSpan.FromSeconds(10), Ct);
        Assert.IsTrue(c.Process.Lines.Any(l => l.Contains($"Transmitter {id} routing on", StringComparison.Ordinal)), "--id set the THID");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ClusterSecret_FromAFileAndTheVariable_Meshes_AndAProcessWithoutItIsRefused()
    {
        const string secret = "cluster-secret-of-the-processes-42";
        var path = await WriteSecretFileAsync(secret, Ct);
        try
        {
            using var a = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--cluster-secret-file", path]);
            using var b = TransmitterProcess.Run(new Dictionary<string, string> { ["THYNAPSE_CLUSTER_SECRET"] = secret, ["THYNAPSE_PEERS"] = a.CommandEndpoint },
                "--command", $"tcp://127.0.0.1:{Ports.Free()}", "--events", $"tcp://127.0.0.1:{Ports.Free()}");
            await b.WaitForLineAsync("Joined the mesh through seed " + a.CommandEndpoint, cancellationToken: Ct);

            using var stranger = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--peer", a.CommandEndpoint]);
            await stranger.Process.WaitForLineAsync("No cluster secret (--cluster-secret)", cancellationToken: Ct);
            await stranger.Process.WaitForLineAsync("CLUSTER_AUTHENTICATION_FAILED", cancellationToken: Ct);
            await a.Process.WaitForLineAsync("Refused a mesh request from", cancellationToken: Ct);
            Assert.IsFalse(stranger.Process.Lines.Any(l => l.Contains("Joined the mesh", StringComparison.Ordinal)), string.Join('\n', stranger.Process.Lines));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
