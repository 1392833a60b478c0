using System.Net;
using System.Net.Sockets;

namespace Thynapse.Transmitter.Tests;

/// <summary>The in-process API words the same rules as the executable's flags, with the option's property names.</summary>
[TestClass]
public sealed class TransmitterOptionsTests
{
    [TestMethod]
    public void Start_LivenessNotAboveHeartbeat_ThrowsNamingBothProperties()
    {
        var options = Transmitters.LoopbackOptions with { LivenessTimeout = TimeSpan.FromMilliseconds(100) };

        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Transmitter.Start(options));

        Assert.AreEqual(nameof(TransmitterOptions.LivenessTimeout), ex.ParamName);
        Assert.AreEqual("LivenessTimeout must be greater than HeartbeatInterval (500 ms); got 100 ms. (Parameter 'LivenessTimeout')", ex.Message);
    }

    /// <summary>
    /// The defaults a WLCM announces are values SUBS accepts back: an ack timeout or attempt count past SUBS's bounds
    /// (§5.6) is refused at start, not announced to cells whose SUBS would then be refused.
    /// </summary>
    [TestMethod]
    public void Validate_DefaultsPastWhatSubsAccepts_AreRefused()
    {
        var longTimeout = TransmitterOptions.Default with { DefaultAckTimeout = TimeSpan.FromHours(2) };
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(longTimeout.Validate);
        Assert.AreEqual(nameof(TransmitterOptions.DefaultAckTimeout), ex.ParamName);
        StringAssert.Contains(ex.Message, "must be at most 3600000 ms");

        var manyAttempts = TransmitterOptions.Default with { DefaultMaxAttempts = 1001 };
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(manyAttempts.Validate);
        Assert.AreEqual(nameof(TransmitterOptions.DefaultMaxAttempts), ex.ParamName);
        StringAssert.Contains(ex.Message, "must be from 1 to 1000; got 1001");
    }

    [TestMethod]
    [DataRow("short", "Secret must be at least 16 characters; got 5")]
    [DataRow("a-secret-of-enough-length\n", "Secret must not begin or end with whitespace")]
    public void Validate_BadSecret_IsRefusedNamingTheSetting(string secret, string expected)
    {
        var ex = Assert.ThrowsExactly<ArgumentException>((TransmitterOptions.Default with { Secret = secret }).Validate);

        Assert.AreEqual(nameof(TransmitterOptions.Secret), ex.ParamName);
        StringAssert.Contains(ex.Message, expected);
    }

    [TestMethod]
    public void Validate_BadCredentials_AreRefusedNamingTheEntry()
    {
        var noServices = TransmitterOptions.Default with { Credentials = [new CellCredential("a-secret-of-enough-length", [])] };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(noServices.Validate).Message, "Credentials (entry 1) must name at least one service");

        var badService = TransmitterOptions.Default with { Credentials = [new CellCredential("a-secret-of-enough-length", ["bad service"])] };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(badService.Validate).Message, "Credentials (entry 1) names an invalid service");

        var reused = TransmitterOptions.Default with
        {
            Secret = "a-secret-of-enough-length",
            Credentials = [new CellCredential("a-secret-of-enough-length", ["billing"])],
        };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(reused.Validate).Message, "reuses a secret");
    }

    [TestMethod]
    public void Start_EndpointWithoutScheme_ThrowsArgumentExceptionSuggestingTheTcpForm()
    {
        var options = Transmitters.LoopbackOptions with { CommandEndpoint = "localhost:4710" };

        var ex = Assert.ThrowsExactly<ArgumentException>(() => Transmitter.Start(options));

        Assert.AreEqual(nameof(TransmitterOptions.CommandEndpoint), ex.ParamName);
        Assert.AreEqual("CommandEndpoint: expected tcp://host:port, got 'localhost:4710'. Did you mean tcp://localhost:4710? (Parameter 'CommandEndpoint')", ex.Message);
    }

    [TestMethod]
    public void Start_EventsPortInUse_ThrowsTransmitterBindExceptionNamingTheEndpoint()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var busy = $"tcp://127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        var ex = Assert.ThrowsExactly<TransmitterBindException>(() => Transmitter.Start(Transmitters.LoopbackOptions with { EventsEndpoint = busy }));

        Assert.AreEqual(nameof(TransmitterOptions.EventsEndpoint), ex.Setting);
        Assert.AreEqual(busy, ex.Endpoint);
        Assert.AreEqual($"Could not bind EventsEndpoint to {busy}: another process listens on port {busy[(busy.LastIndexOf(':') + 1)..]}; "
            + "pick another port with EventsEndpoint, or stop that process.", ex.Message);
    }

    [TestMethod]
    public void ClusterSecret_Short_OrTheCellsSecret_IsRefusedNamingIt()
    {
        var shortOne = TransmitterOptions.Default with { Mesh = MeshOptions.Default with { ClusterSecret = "short" } };
        StringAssert.Contains(Assert.Throws<ArgumentException>(shortOne.Validate).Message, "Mesh.ClusterSecret must be at least 16 characters");

        const string secret = "one-secret-for-all-0123456789";
        var same = TransmitterOptions.Default with { Secret = secret, Mesh = MeshOptions.Default with { ClusterSecret = secret } };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(same.Validate).Message, "Mesh.ClusterSecret is also a cells' secret");
        (TransmitterOptions.Default with { Secret = secret, Mesh = MeshOptions.Default with { ClusterSecret = secret + "-mesh" } }).Validate();
    }
}
