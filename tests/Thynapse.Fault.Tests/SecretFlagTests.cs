namespace Thynapse.Fault.Tests;

/// <summary>The executable's secret flags: from a file or the environment, and a mistake named with its fix.</summary>
[TestClass]
public sealed class SecretFlagTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task SecretFile_AdmitsOnlyCellsWithItsSecret()
    {
        var path = await HostRuns.WriteSecretFileAsync("secret-from-a-file-0001", Ct);
        try
        {
            using var transmitter = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--secret-file", path]);

            await using var cell = await Cells.ConnectAsync(transmitter.CommandEndpoint, "filed", o => o with { Secret = "secret-from-a-file-0001" }, Ct);
            var refused = await Assert.ThrowsExactlyAsync<ThynapseRejectedException>(() =>
                Cells.ConnectAsync(transmitter.CommandEndpoint, "filed", o => o, Ct));

            Assert.AreEqual(CellState.Connected, cell.CurrentState);
            Assert.AreEqual(ThynapseErrorCode.AuthenticationFailed, refused.Code);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SecretEnvironmentVariable_IsTheSecret()
    {
        var port = Ports.Free();
        using var transmitter = TransmitterProcess.Run(new Dictionary<string, string>
        {
            ["THYNAPSE_SECRET"] = "secret-from-the-environment",
            ["THYNAPSE_COMMAND"] = $"tcp://127.0.0.1:{port}",
            ["THYNAPSE_EVENTS"] = $"tcp://127.0.0.1:{Ports.Free()}",
        });
        await transmitter.WaitForLineAsync($"routing on tcp://127.0.0.1:{port}", cancellationToken: Ct);

        await using var cell = await Cells.ConnectAsync($"tcp://127.0.0.1:{port}", "env", o => o with { Secret = "secret-from-the-environment" }, Ct);
        Assert.AreEqual(CellState.Connected, cell.CurrentState);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Keygen_WritesAPairTheTransmitterAndCellsUse()
    {
        var directory = Directory.CreateTempSubdirectory("thynapse-keys");
        try
        {
            var path = Path.Combine(directory.FullName, "transmitter.key");
            using (var keygen = TransmitterProcess.Run(null, "keygen", path))
            {
                Assert.AreEqual(0, await keygen.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct), string.Join('\n', keygen.Lines));
            }

            var publicKey = (await File.ReadAllTextAsync(path + ".pub", Ct)).Trim();
            Assert.IsTrue(CurveKeys.IsKey(publicKey), publicKey);
            Assert.IsTrue(CurveKeys.IsKey((await File.ReadAllTextAsync(path, Ct)).Trim()));
            if (!OperatingSystem.IsWindows())
            {
                Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path), "the secret key is the owner's alone");
            }

            using (var again = TransmitterProcess.Run(null, "keygen", path))
            {
                Assert.AreEqual(1, await again.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct), "a key pair is never overwritten");
            }

            using var transmitter = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--curve-key-file", path]);
            await using var cell = await Cells.ConnectAsync(transmitter.CommandEndpoint, "curved", o => o with { TransmitterPublicKey = publicKey }, Ct);
            Assert.AreEqual(CellState.Connected, cell.CurrentState);

            // An allow-list of cell keys: a cell with a listed pair joins, one with another pair is refused.
            var listed = new NetMQ.NetMQCertificate();
            var allowed = Path.Combine(directory.FullName, "cells.keys");
            await File.WriteAllTextAsync(allowed, $"# the billing cell\n{listed.PublicKeyZ85}\n\n", Ct);
            using var strict = await TransmitterProcess.StartAsync(cancellationToken: Ct, extraArgs: ["--curve-key-file", path, "--allowed-keys-file", allowed]);
            await using var admitted = await Cells.ConnectAsync(strict.CommandEndpoint, "listed", o => o with
            {
                TransmitterPublicKey = publicKey,
                CurvePublicKey = listed.PublicKeyZ85,
                CurveSecretKey = listed.SecretKeyZ85,
            }, Ct);
            Assert.AreEqual(CellState.Connected, admitted.CurrentState);
            var refused = await Assert.ThrowsExactlyAsync<ThynapseRejectedException>(() =>
                Cells.ConnectAsync(strict.CommandEndpoint, "unlisted", o => o with { TransmitterPublicKey = publicKey }, Ct));
            Assert.AreEqual(ThynapseErrorCode.KeyNotAllowed, refused.Code);

            // Without --curve-key-file the list cannot be used: the process says so, naming both flags.
            using var plain = TransmitterProcess.Run(null, "--allowed-keys-file", allowed);
            Assert.AreEqual(1, await plain.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
            Assert.IsTrue(plain.Lines.Any(l => l.Contains("--allowed-keys-file [env: THYNAPSE_ALLOWED_KEYS_FILE] needs --curve-key-file", StringComparison.Ordinal)), string.Join('\n', plain.Lines));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [TestMethod]
    [DataRow("--max-cells", "0", "--max-cells [env: THYNAPSE_MAX_CELLS] must be at least 1; got 0")]
    [DataRow("--max-failed-attempts", "3", "--max-failed-attempts [env: THYNAPSE_MAX_FAILED_ATTEMPTS] must be 0 (not limited) or more than 5")]
    [DataRow("--curve-key-file", "/nonexistent/key", "--curve-key-file [env: THYNAPSE_CURVE_KEY_FILE]: '/nonexistent/key' does not exist")]
    [DataRow("--secret-file", "/nonexistent/thynapse-secret", "--secret-file [env: THYNAPSE_SECRET_FILE]: '/nonexistent/thynapse-secret' does not exist")]
    [DataRow("--secret", "short", "--secret [env: THYNAPSE_SECRET] must be at least 16 characters")]
    [DataRow("--cluster-secret", "short", "--cluster-secret [env: THYNAPSE_CLUSTER_SECRET] must be at least 16 characters")]
    [DataRow("--cluster-secret-file", "/nonexistent/cluster", "--cluster-secret-file [env: THYNAPSE_CLUSTER_SECRET_FILE]: '/nonexistent/cluster' does not exist")]
    [DataRow("--allowed-keys-file", "/nonexistent/keys", "--allowed-keys-file [env: THYNAPSE_ALLOWED_KEYS_FILE]: '/nonexistent/keys' does not exist")]
    [DataRow("--credentials-file", "/nonexistent/creds", "--credentials-file [env: THYNAPSE_CREDENTIALS_FILE]: '/nonexistent/creds' does not exist")]
    [Timeout(30_000)]
    public async Task BadSecretSetting_ExitsWithCodeOneNamingTheFlag(string flag, string value, string expected)
    {
        using var bad = TransmitterProcess.Run(null, flag, value);

        Assert.AreEqual(1, await bad.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
        Assert.IsTrue(bad.Lines.Any(l => l.Contains(expected, StringComparison.Ordinal)), string.Join('\n', bad.Lines));
    }
}
