using System.Net.Sockets;

namespace Thynapse.Cell.Tests;

/// <summary>What a welcome sets (<see cref="TransmitterTerms"/>) and what failed attempts say (<see cref="JoinAttempts"/>).</summary>
[TestClass]
public sealed class SessionTermsTests
{
    [TestMethod]
    public void Of_TakesWhatTheWelcomeSaysAndTheProtocolDefaultsForTheRest()
    {
        var id = Thid.NewRandom();
        var terms = TransmitterTerms.Of(new WelcomeMessage(id, "tcp://10.0.0.5:4711", "s1") { Heartbeat = 200, Liveness = 100 });

        Assert.AreEqual(id, terms.Id);
        Assert.AreEqual("tcp://10.0.0.5:4711", terms.Events);
        Assert.AreEqual(200L, terms.HeartbeatMs);
        Assert.AreEqual(400L, terms.LivenessMs, "at least two heartbeats");
        Assert.AreEqual(TransmitterTerms.Initial.MaxFrameBytes, terms.MaxFrameBytes, "no limits given: unchanged");
        Assert.AreEqual(65_536, TransmitterTerms.Of(new WelcomeMessage(id, "tcp://10.0.0.5:4711", "s1") { Limits = WelcomeLimits.Default with { Frame = 65_536 } }).MaxFrameBytes);
    }

    [TestMethod]
    public void Diagnose_NamesWhatTheAttemptsMet()
    {
        var attempts = new JoinAttempts("tcp://somewhere:4710", Serilog.Core.Logger.None);
        StringAssert.Contains(attempts.Diagnose(TimeSpan.FromSeconds(1)), "no TCP connection could be made");

        Assert.IsNull(attempts.LinkNotOpened(new SocketException((int)SocketError.HostNotFound)), "a host that does not resolve may yet: no failure at once");
        StringAssert.Contains(attempts.Diagnose(TimeSpan.FromSeconds(1)), "could not resolve host 'somewhere' in CellOptions.Transmitter (1 attempts;");

        attempts.Reset();
        attempts.Connections++;
        attempts.ClosedBeforeWelcome++;
        StringAssert.Contains(attempts.Diagnose(TimeSpan.FromSeconds(1)), "the peer closed the connection 1 times before answering HELO");
    }
}
