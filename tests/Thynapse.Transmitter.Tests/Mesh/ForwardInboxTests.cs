namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The receiving end of forward streams (PROTOCOL.md §12.11) on a counted clock: messages handed on in their numbers'
/// order, each once; gaps held and asked for, repaired by resends, ended by GONE, by giving up, or by the sender's death.
/// </summary>
[TestClass]
public sealed class ForwardInboxTests
{
    private const long Me = 5;
    private const long Retry = 100;
    private static readonly Thid Sender = Thid.NewRandom();
    private readonly List<int> _delivered = [];
    private readonly List<string> _asked = [];
    private long _lost;
    private long _now;
    private ForwardInbox _inbox = null!;
    private long _me = Me;

    [TestInitialize]
    public void Start() => _inbox = new ForwardInbox(() => _me, () => _now, Retry, (_, body) => _delivered.Add(body[0]),
        (_, from, through) => _asked.Add($"{from}-{through}"), (_, n) => _lost += n);

    [TestMethod]
    public void InOrder_IsHandedOn_RepeatsAndOtherIncarnationsAreIgnored()
    {
        Receive(1);
        Receive(2);
        Receive(2);
        _inbox.Receive(Sender, 1, to: Me - 1, 3, [3]); // numbered for an earlier incarnation of ours

        CollectionAssert.AreEqual(new[] { 1, 2 }, _delivered);
        Assert.AreEqual(2L, _inbox.Ignored);
        Assert.IsEmpty(_asked);
    }

    /// <summary>
    /// Found by bench C5 (x-multi3): a receiver that refuted a suspicion under load dropped every message still on the way
    /// numbered for its previous incarnation — tens of thousands of events, silently. They are its own.
    /// </summary>
    [TestMethod]
    public void OurRefutation_MessagesNumberedForOurPreviousIncarnation_AreStillOurs_ThenTheNewStreamStartsAtOne()
    {
        Receive(1);
        _me = Me + 1; // we refuted: the sender will number a new stream for Me + 1
        _inbox.Receive(Sender, 1, to: Me, 2, [2]); // still on the way, numbered for Me
        _inbox.Receive(Sender, 1, to: Me + 1, 1, [3]); // the new stream
        _inbox.Receive(Sender, 1, to: Me, 3, [9]); // an old-stream message after the new one began: older than the stream held

        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, _delivered);
        Assert.AreEqual(0L, _lost);
        Assert.IsEmpty(_asked);
    }

    [TestMethod]
    public void TheSendersRefutation_NumbersGoingOn_IsTheSameStream_ARestartedSender_NumbersFromOneAgain()
    {
        Receive(1);
        Receive(2);
        _inbox.Receive(Sender, 2, to: Me, 3, [3]); // the sender refuted: a higher incarnation, numbers going on
        Assert.IsEmpty(_asked, "not a new stream: nothing to ask for");
        _inbox.Receive(Sender, 3, to: Me, 1, [4]); // the sender restarted: numbers start again

        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4 }, _delivered);
        Assert.AreEqual(0L, _lost);
    }

    [TestMethod]
    public void AStreamReplacedWhileAGapWasOpen_HandsOnWhatItHeld_AndCountsTheGapLost()
    {
        Receive(1);
        Receive(4); // 2 and 3 missing
        _me = Me + 1;
        _inbox.Receive(Sender, 1, to: Me + 1, 1, [7]);

        CollectionAssert.AreEqual(new[] { 1, 4, 7 }, _delivered);
        Assert.AreEqual(2L, _lost, "the gap of the replaced stream is counted, never silent");
    }

    [TestMethod]
    public void AGap_IsHeldAndAskedOnce_ThenRepairedInOrder()
    {
        Receive(1);
        Receive(4);
        Receive(5);
        CollectionAssert.AreEqual(new[] { "2-3" }, _asked, "asked once for the gap, not once per message after it");
        CollectionAssert.AreEqual(new[] { 1 }, _delivered, "4 and 5 wait for 2 and 3");

        Receive(3);
        Receive(2);
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5 }, _delivered);
        Assert.AreEqual(0, _inbox.Held);
        Assert.AreEqual(0L, _lost);
    }

    [TestMethod]
    public void AFirstMessageAfterOne_IsAGap_TheStreamStartsAtOne()
    {
        Receive(3);
        CollectionAssert.AreEqual(new[] { "1-2" }, _asked, "published before our subscription reached the sender");
    }

    [TestMethod]
    public void Gone_CountsTheMissingAsLost_AndHandsOnWhatIsHeld()
    {
        Receive(1);
        Receive(5);
        _inbox.Gone(Sender, 1, Me, 2, 3);
        CollectionAssert.AreEqual(new[] { 1 }, _delivered, "4 may still come");
        Assert.AreEqual(2L, _lost);

        Receive(4);
        CollectionAssert.AreEqual(new[] { 1, 4, 5 }, _delivered);
    }

    [TestMethod]
    public void AnUnansweredGap_IsAskedAgain_AndGivenUpAfterMaxAsks()
    {
        Receive(1);
        Receive(3);
        for (var i = 0; i < ForwardInbox.MaxAsks + 1; i++)
        {
            _now += Retry;
            _inbox.Tick();
        }

        Assert.HasCount(ForwardInbox.MaxAsks, _asked);
        CollectionAssert.AreEqual(new[] { 1, 3 }, _delivered, "given up: the held message goes on");
        Assert.AreEqual(1L, _lost);
    }

    [TestMethod]
    public void APulseBeyondWhatArrived_AsksForTheLostTail_AndTheSendersDeathHandsOnWhatIsHeld()
    {
        Receive(1);
        _inbox.Pulse(Sender, 1, Me, 3);
        CollectionAssert.AreEqual(new[] { "2-3" }, _asked);

        Receive(3);
        _inbox.SenderGone(Sender);
        CollectionAssert.AreEqual(new[] { 1, 3 }, _delivered);
        Assert.AreEqual(1L, _lost);
    }

    [TestMethod]
    public void ARestartedSender_StartsItsStreamAgain()
    {
        Receive(1);
        Receive(2);
        _inbox.Receive(Sender, 2, Me, 1, [7]);
        _inbox.Receive(Sender, 1, Me, 3, [8]); // its old process

        CollectionAssert.AreEqual(new[] { 1, 2, 7 }, _delivered);
    }

    private void Receive(long seq) => _inbox.Receive(Sender, 1, Me, seq, [(byte)seq]);
}
