using System.Net;
using Microsoft.Extensions.Time.Testing;
using NetMQ.Sockets;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Tests.Engines;

/// <summary>
/// The per-source limit on failed attempts alone, on a fake clock: free failures, a wait that doubles up to its cap,
/// a block, a fresh start after a quiet while, and a bound on the sources tracked.
/// </summary>
[TestClass]
public sealed class GuessLimiterTests
{
    private static readonly IPAddress Guesser = IPAddress.Parse("10.0.0.66");
    private static readonly IPAddress Other = IPAddress.Parse("10.0.0.7");

    [TestMethod]
    public void FreeFailures_CostNoWait_ThenTheWaitDoublesUpToItsCap()
    {
        var clock = new FakeTimeProvider();
        var limiter = new GuessLimiter(clock, failuresBeforeBlock: 20, block: TimeSpan.FromMinutes(5));
        for (var i = 0; i < GuessLimiter.FreeFailures; i++)
        {
            Assert.IsTrue(limiter.MayAttempt(Guesser, out _, out _), $"free failure {i + 1}");
            limiter.Failed(Guesser);
        }

        var waits = new List<TimeSpan>();
        for (var failure = GuessLimiter.FreeFailures + 1; failure < 20; failure++)
        {
            Assert.IsTrue(limiter.MayAttempt(Guesser, out _, out _), $"attempt {failure} after its wait");
            limiter.Failed(Guesser);
            Assert.IsFalse(limiter.MayAttempt(Guesser, out var retryAfter, out var blocked), $"attempt right after failure {failure}");
            Assert.IsFalse(blocked);
            waits.Add(retryAfter);
            clock.Advance(retryAfter - TimeSpan.FromMilliseconds(1));
            Assert.IsFalse(limiter.MayAttempt(Guesser, out _, out _), "a millisecond before the wait ends");
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        CollectionAssert.AreEqual(
            new[] { 100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000 },
            waits.Select(w => (int)w.TotalMilliseconds).ToArray());
        Assert.IsTrue(limiter.MayAttempt(Other, out _, out _), "another source is not slowed");
    }

    [TestMethod]
    public void PastTheLimit_TheSourceIsBlocked_AndStartsAfreshAfterAQuietWhile()
    {
        var clock = new FakeTimeProvider();
        var limiter = new GuessLimiter(clock, failuresBeforeBlock: 8, block: TimeSpan.FromMinutes(5));
        var justBlocked = false;
        for (var i = 0; i < 8; i++)
        {
            clock.Advance(GuessLimiter.MaxDelay);
            justBlocked = limiter.Failed(Guesser);
        }

        Assert.IsTrue(justBlocked, "the 8th failure blocks");
        Assert.IsFalse(limiter.MayAttempt(Guesser, out var retryAfter, out var blocked));
        Assert.IsTrue(blocked);
        Assert.AreEqual(TimeSpan.FromMinutes(5), retryAfter);

        // One attempt after the block; failing again blocks again at once.
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.IsTrue(limiter.MayAttempt(Guesser, out _, out _));
        Assert.IsFalse(limiter.Failed(Guesser), "already blocked before: not counted as a new block");
        Assert.IsFalse(limiter.MayAttempt(Guesser, out _, out blocked));
        Assert.IsTrue(blocked);

        // No failure for ForgetAfter (the block having ended): forgotten, free failures again.
        clock.Advance(GuessLimiter.ForgetAfter);
        Assert.IsTrue(limiter.MayAttempt(Guesser, out _, out _));
        Assert.AreEqual(0, limiter.Count);
        limiter.Failed(Guesser);
        Assert.IsTrue(limiter.MayAttempt(Guesser, out _, out _), "a first failure again costs nothing");
    }

    [TestMethod]
    public void Sources_AreBoundedInNumber_TheLeastRecentlyFailedForgottenFirst()
    {
        var clock = new FakeTimeProvider();
        var limiter = new GuessLimiter(clock, failuresBeforeBlock: 6, block: TimeSpan.FromMinutes(5), capacity: 100);
        for (var i = 0; i < 6; i++)
        {
            limiter.Failed(Guesser);
        }

        for (var i = 0; i < 99; i++)
        {
            limiter.Failed(new IPAddress([192, 168, (byte)(i / 256), (byte)(i % 256)]));
        }

        Assert.AreEqual(100, limiter.Count);
        Assert.IsFalse(limiter.MayAttempt(Guesser, out _, out _), "still tracked at the bound");
        limiter.Failed(Other);
        Assert.AreEqual(100, limiter.Count);
        Assert.IsTrue(limiter.MayAttempt(Guesser, out _, out _), "the least recently failed source was forgotten to make room");
    }

    [TestMethod]
    public void NoLimit_NothingIsSlowed()
    {
        var limiter = new GuessLimiter(new FakeTimeProvider(), failuresBeforeBlock: 0, block: TimeSpan.FromMinutes(5));
        for (var i = 0; i < 1000; i++)
        {
            Assert.IsFalse(limiter.Failed(Guesser));
        }

        Assert.IsTrue(limiter.MayAttempt(Guesser, out _, out _));
        Assert.AreEqual(0, limiter.Count);
    }

    /// <summary>The reflection PeerAddresses does on NetMQ's internals finds a connection's address (NetMQ 4.0.4.5).</summary>
    [TestMethod]
    [Timeout(10_000)]
    public void PeerAddresses_TellTheSourceOfARoutingId()
    {
        using var router = new RouterSocket();
        var port = router.BindRandomPort("tcp://127.0.0.1");
        using var dealer = new DealerSocket($">tcp://127.0.0.1:{port}");
        dealer.SendFrame("hello");
        var addresses = new PeerAddresses(router);
        Assert.IsTrue(addresses.Available, "NetMQ's internals are as PeerAddresses expects");

        var message = router.ReceiveMultipartMessage();

        Assert.AreEqual(IPAddress.Loopback, addresses.Of(message[0].Buffer));
        Assert.IsNull(addresses.Of([0, 1, 2, 3, 4]), "an unknown routing id has no address");
    }
}
