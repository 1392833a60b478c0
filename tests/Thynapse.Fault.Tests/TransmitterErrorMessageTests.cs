using System.Net;
using System.Net.Sockets;
using static Thynapse.Fault.Tests.HostRuns;

namespace Thynapse.Fault.Tests;

/// <summary>
/// What the transmitter process says to a newcomer's mistakes: what it expected, which flag (and variable), and what
/// to type instead — in a line or two, with the documented exit codes (1 invalid arguments, 2 an endpoint not bound).
/// </summary>
[TestClass]
public sealed class TransmitterErrorMessageTests : TestBase
{
    private const string SeeHelp = "See 'thynapse-transmitter --help' for every flag and its environment variable.";

    [TestMethod]
    [Timeout(30_000)]
    [DataRow("--command", "localhost:5000",
        "Invalid setting: --command [env: THYNAPSE_COMMAND]: expected tcp://host:port, got 'localhost:5000'. Did you mean tcp://localhost:5000?")]
    [DataRow("--command", "http://127.0.0.1:5000",
        "Invalid setting: --command [env: THYNAPSE_COMMAND]: expected tcp://host:port, got 'http://127.0.0.1:5000': only tcp:// is supported, not http://. Did you mean tcp://127.0.0.1:5000?")]
    [DataRow("--events", "*:5001",
        "Invalid setting: --events [env: THYNAPSE_EVENTS]: expected tcp://host:port, got '*:5001'. Did you mean tcp://*:5001?")]
    public async Task Endpoint_NotTcpHostPort_ExitsWithOneNamingTheFlagAndTheTcpForm(string flag, string value, string expected)
    {
        var lines = await RunToExitAsync(1, null, Ct, WithFreePorts(flag, value));

        AssertSaysOnce(expected, lines);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DataRow(new[] { "--liveness-ms", "100" },
        "Invalid setting: --liveness-ms [env: THYNAPSE_LIVENESS_MS] must be greater than --heartbeat-ms (1000 ms); got 100 ms.")]
    [DataRow(new[] { "--heartbeat-ms", "0" },
        "Invalid setting: --heartbeat-ms [env: THYNAPSE_HEARTBEAT_MS] must be greater than 0 ms; got 0 ms.")]
    [DataRow(new[] { "--liveness-ms", "2000", "--full-queue-grace-ms", "800" },
        "Invalid setting: --full-queue-grace-ms [env: THYNAPSE_FULL_QUEUE_GRACE_MS] must be at most a quarter of --liveness-ms (500 ms); got 800 ms.")]
    [DataRow(new[] { "--prefetch", "70000" },
        "Invalid setting: --prefetch [env: THYNAPSE_PREFETCH] must be from 1 to 65535; got 70000.")]
    [DataRow(new[] { "--max-frame-bytes", "100" },
        "Invalid setting: --max-frame-bytes [env: THYNAPSE_MAX_FRAME_BYTES] must be at least 1024 bytes; got 100.")]
    [DataRow(new[] { "--command", "tcp://127.0.0.1:5002", "--events", "tcp://*:5002" },
        "Invalid setting: --events [env: THYNAPSE_EVENTS] must use another port than --command; both are 5002.")]
    public async Task SettingOutOfRange_ExitsWithOneNamingTheFlagTheRuleAndTheValueInMilliseconds(string[] settings, string expected)
    {
        var lines = await RunToExitAsync(1, null, Ct, WithFreePorts(settings));

        AssertSaysOnce(expected, lines);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SettingFromTheEnvironment_IsNamedWithItsVariable()
    {
        var environment = new Dictionary<string, string> { ["THYNAPSE_LIVENESS_MS"] = "100" };

        var lines = await RunToExitAsync(1, environment, Ct, WithFreePorts());

        AssertSaysOnce("Invalid setting: --liveness-ms [env: THYNAPSE_LIVENESS_MS] must be greater than --heartbeat-ms (1000 ms); got 100 ms.", lines);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DataRow("--command")]
    [DataRow("--events")]
    public async Task PortInUse_ExitsWithTwoNamingTheEndpointItsFlagAndTheFix(string busy)
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var lines = await RunToExitAsync(2, null, Ct, WithFreePorts(busy, $"tcp://127.0.0.1:{port}"));

        var variable = busy == "--command" ? "THYNAPSE_COMMAND" : "THYNAPSE_EVENTS";
        AssertSaysOnce($"Could not bind {busy} [env: {variable}] to tcp://127.0.0.1:{port}: another process listens on port {port}; "
            + $"pick another port with {busy}, or stop that process.", lines);
    }

    [TestMethod]
    [Timeout(30_000)]
    [DataRow(new[] { "--comand", "tcp://*:5000" }, "thynapse-transmitter: unknown flag '--comand'. Did you mean --command?")]
    [DataRow(new[] { "--lifeness-ms", "4000" }, "thynapse-transmitter: unknown flag '--lifeness-ms'. Did you mean --liveness-ms?")]
    [DataRow(new[] { "-events", "tcp://*:5001" }, "thynapse-transmitter: unknown flag '-events'. Did you mean --events?")]
    [DataRow(new[] { "--verbose" }, "thynapse-transmitter: unknown flag '--verbose'.")]
    [DataRow(new[] { "tcp://*:5000" }, "thynapse-transmitter: unexpected argument 'tcp://*:5000': every setting is a flag. Did you mean --command tcp://*:5000?")]
    [DataRow(new[] { "--liveness-ms", "5s" }, "thynapse-transmitter: --liveness-ms must be a whole number; got '5s'.")]
    [DataRow(new[] { "--log-format", "xml" }, "thynapse-transmitter: --log-format must be text or json; got 'xml'.")]
    [DataRow(new[] { "--heartbeat-ms" }, "thynapse-transmitter: --heartbeat-ms needs a value.")]
    public async Task UnparsableCommandLine_PrintsTwoLinesNotTheHelp(string[] args, string expected)
    {
        var lines = await RunToExitAsync(1, null, Ct, args);

        CollectionAssert.AreEqual(new[] { expected, SeeHelp }, lines.ToArray(), string.Join('\n', lines));
    }

    /// <summary><paramref name="settings"/> (flag, value, flag, value…), and any free loopback port for the endpoints they leave out.</summary>
    private static string[] WithFreePorts(params string[] settings)
    {
        var args = new Dictionary<string, string> { ["--command"] = "tcp://127.0.0.1:0", ["--events"] = "tcp://127.0.0.1:0" };
        for (var i = 0; i < settings.Length; i += 2)
        {
            args[settings[i]] = settings[i + 1];
        }

        return [.. args.SelectMany(a => new[] { a.Key, a.Value })];
    }
}
