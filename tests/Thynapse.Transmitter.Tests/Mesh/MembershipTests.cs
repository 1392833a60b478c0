using static Thynapse.Transmitter.Tests.Mesh.SimulatedMesh;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// The SWIM state machine on a fake clock (<see cref="SimulatedMesh"/>): joining through a chain of seeds, failure
/// detection, suspicion and its confirmations, refutation by incarnation, restarts, Lifeguard's local health. The
/// figures asserted are the defaults of <see cref="MeshOptions"/> (PROTOCOL.md §12.7).
/// </summary>
[TestClass]
public sealed class MembershipTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [TestMethod]
    public void Join_ThroughAChainOfSeeds_EveryoneLearnsEveryone()
    {
        var mesh = new SimulatedMesh();
        var a = mesh.Add("a");
        var b = mesh.Add("b", a);
        var c = mesh.Add("c", b);

        var converged = mesh.Run(Second, () => AllSeeAll(a, b, c));

        Assert.IsTrue(converged, $"all three see each other alive within 1 s of simulated time; {Describe(a, b, c)}");
        TestContextLine($"converged after {mesh.Elapsed.TotalMilliseconds} ms of simulated time");
        Assert.IsLessThan(200, mesh.Elapsed.TotalMilliseconds, "a join is a few round trips, not a probe interval");
    }

    [TestMethod]
    public void Join_ASeedThatIsThisTransmitter_IsDroppedAndTheOthersJoined()
    {
        var mesh = new SimulatedMesh();
        var a = mesh.Add("a");
        var b = mesh.Add("b", a);
        a.Membership.AddSeed(a.CommandEndpoint); // every transmitter given the same list, itself included

        Assert.IsTrue(mesh.Run(Second, () => AllSeeAll(a, b)), Describe(a, b));
        mesh.Run(Second);
        Assert.IsFalse(a.Membership.TryGet(a.Id, out _), "a transmitter is never its own member");
        Assert.AreEqual(0L, a.Counters.MeshJoinFailures, "its own seed answered (itself), nothing was retried");
    }

    [TestMethod]
    public void Seed_DownAtFirst_IsRetriedWithGrowingPausesUntilItAnswers()
    {
        var mesh = new SimulatedMesh();
        var a = mesh.Add("a");
        a.Kill(); // the seed is not up yet
        var b = mesh.Add("b", a);

        mesh.Run(TimeSpan.FromSeconds(20));
        var attempts = b.Counters.MeshJoinAttempts;
        // 0.25 s doubling to 5 s (±25%), each attempt waiting 1 s: about 7 in 20 s; never once per tick.
        Assert.IsTrue(attempts is >= 5 and <= 10, $"{attempts} attempts in 20 s");

        var restarted = mesh.Add("a", a.Id);
        Assert.IsTrue(mesh.Run(TimeSpan.FromSeconds(7), () => AllSeeAll(restarted, b)), "the seed is joined once it answers, within the longest pause");
    }

    [TestMethod]
    public void Kill_OthersSuspectAndDeclareDead_WithinTheDocumentedWindow()
    {
        var mesh = new SimulatedMesh();
        var (a, b, c) = mesh.JoinThree();
        mesh.Run(Second); // steady state: pulses and probes

        c.Kill();
        var killedAt = mesh.Elapsed;
        Assert.IsTrue(mesh.Run(TimeSpan.FromSeconds(4), () => a.StateOf(c) == PeerState.Dead && b.StateOf(c) == PeerState.Dead),
            $"both declare it dead within 4 s; {Describe(a, b)}");
        var detection = mesh.Elapsed - killedAt;
        TestContextLine($"declared dead {detection.TotalMilliseconds} ms after the kill");

        // Silent for a probe interval (0.5 s), the probe fails at its end (0.5 s), the suspicion lasts 1.5 s: 2.5 s.
        Assert.IsTrue(detection >= TimeSpan.FromSeconds(2) && detection <= TimeSpan.FromSeconds(3), $"{detection} from kill to death");
        Assert.AreEqual(PeerState.Alive, a.StateOf(b), "nobody else suffers");
        Assert.AreEqual(PeerState.Alive, b.StateOf(a));
        Assert.AreEqual(1L, a.Counters.MeshDead);
    }

    [TestMethod]
    public void Suspicion_ConfirmedByOthers_ShrinksToTheMinimum_UnconfirmedItLastsLonger()
    {
        // Five members: a suspicion expects one confirmation (SuspicionMultiplier 3 − 2) and lasts up to 3 × 1.5 s alone.
        var mesh = new SimulatedMesh();
        var a = mesh.Add("a");
        var others = new[] { mesh.Add("b", a), mesh.Add("c", a), mesh.Add("d", a) };
        var e = mesh.Add("e", a);
        Assert.IsTrue(mesh.Run(Second, () => AllSeeAll([a, .. others, e])));
        mesh.Run(Second);

        // e stops answering a alone: a's probes fail (the helpers cannot reach e either), nobody else suspects it.
        foreach (var other in others)
        {
            mesh.Cut(other, e);
        }

        mesh.Cut(a, e);
        var cutAt = mesh.Elapsed;
        Assert.IsTrue(mesh.Run(TimeSpan.FromSeconds(6), () => a.StateOf(e) == PeerState.Dead));
        var confirmed = mesh.Elapsed - cutAt;

        var unconfirmed = new Suspicion(a.Id, 0, expected: 1, minTicks: 1500, maxTicks: 4500);
        Assert.AreEqual(4500L, unconfirmed.TimeoutTicks, "alone: the longest");
        Assert.IsTrue(unconfirmed.Confirm(others[0].Id));
        Assert.IsFalse(unconfirmed.Confirm(others[0].Id), "the same member confirms once");
        Assert.AreEqual(1500L, unconfirmed.TimeoutTicks, "confirmed as often as expected: the shortest");
        Assert.AreEqual(1500L, new Suspicion(a.Id, 0, expected: 0, minTicks: 1500, maxTicks: 4500).TimeoutTicks, "a mesh too small to confirm starts at the shortest");

        // Everyone lost e: all suspect, they confirm each other, the suspicion takes the shortest, 1.5 s.
        TestContextLine($"cut off from all: dead after {confirmed.TotalMilliseconds} ms");
        Assert.IsTrue(confirmed < TimeSpan.FromSeconds(3.2), $"confirmed suspicion took {confirmed}");
    }

    [TestMethod]
    public void Suspicion_OfAMemberOnlyOneCannotReach_IsNotConfirmedAndTheMemberRefutes()
    {
        var mesh = new SimulatedMesh();
        var (a, b, c, d) = mesh.JoinFour();
        mesh.Run(Second);
        var before = d.Membership.Incarnation;

        // a and d cannot talk; b and c can reach d and answer a's indirect probes for it.
        mesh.Cut(a, d);
        mesh.Run(TimeSpan.FromSeconds(5));

        Assert.AreEqual(0L, a.Counters.MeshDeaths + b.Counters.MeshDeaths + c.Counters.MeshDeaths, $"nobody was declared dead; {Describe(a, b, c)}");
        Assert.AreEqual(0L, a.Counters.MeshProbesFailed, "the indirect probes through b and c answered for d");
        Assert.AreEqual(before, d.Membership.Incarnation, "never suspected, nothing to refute");
    }

    [TestMethod]
    public void Stop_ShorterThanTheSuspicionWindow_IsSuspectedThenRefutedNeverDead()
    {
        var mesh = new SimulatedMesh();
        var (a, b, c) = mesh.JoinThree();
        mesh.Run(Second);
        var before = c.Membership.Incarnation;

        c.Stop();
        mesh.Run(TimeSpan.FromSeconds(1.5));
        Assert.AreEqual(PeerState.Suspect, a.StateOf(c), "a stop of 1.5 s is suspected");
        c.Continue();
        Assert.IsTrue(mesh.Run(Second, () => a.StateOf(c) == PeerState.Alive && b.StateOf(c) == PeerState.Alive), Describe(a, b));
        mesh.Run(TimeSpan.FromSeconds(3));

        Assert.AreEqual(0L, a.Counters.MeshDeaths + b.Counters.MeshDeaths, "never declared dead");
        Assert.IsGreaterThan(before, c.Membership.Incarnation, "it refuted with a higher incarnation");
        Assert.AreEqual(c.Membership.Incarnation, a.IncarnationOf(c));
        Assert.AreEqual(1L, c.Counters.MeshRefutations, "one refutation answers both suspicions");
        Assert.AreEqual(0L, c.Counters.MeshSuspicions, "the stopped member itself suspected nobody: its own stall is not counted against others");
        Assert.AreEqual(0, a.Unlinks.GetValueOrDefault(c.Id) + b.Unlinks.GetValueOrDefault(c.Id), "a refutation is the same process: its links stand");
    }

    [TestMethod]
    public void Stop_LongerThanTheSuspicionWindow_IsDeclaredDead_ThenAliveAgainWithAHigherIncarnation()
    {
        var mesh = new SimulatedMesh();
        var (a, b, c) = mesh.JoinThree();
        mesh.Run(Second);

        c.Stop();
        Assert.IsTrue(mesh.Run(TimeSpan.FromSeconds(4), () => a.StateOf(c) == PeerState.Dead && b.StateOf(c) == PeerState.Dead));
        var deadAt = c.Membership.Incarnation;
        c.Continue();

        // It still pulses to those that kept listening; hearing a dead member prompts its retry, which tells it it is dead.
        Assert.IsTrue(mesh.Run(TimeSpan.FromSeconds(3), () => AllSeeAll(a, b, c)), $"alive again; {Describe(a, b, c)}");
        Assert.IsGreaterThan(deadAt, a.IncarnationOf(c)!.Value);
        Assert.AreEqual(0L, c.Counters.MeshDeaths, "it declared nobody dead for its own stop");
    }

    [TestMethod]
    public void Restart_WithTheSameThidAndAHigherIncarnation_IsAliveAgain()
    {
        var mesh = new SimulatedMesh();
        var (a, b, c) = mesh.JoinThree();
        c.Kill();
        Assert.IsTrue(mesh.Run(TimeSpan.FromSeconds(4), () => a.StateOf(c) == PeerState.Dead && b.StateOf(c) == PeerState.Dead));

        var again = mesh.Add("c", c.Id, b);
        Assert.IsGreaterThan(c.Membership.Incarnation, again.Membership.Incarnation, "a restart starts at a later incarnation");
        Assert.IsTrue(mesh.Run(Second, () => AllSeeAll(a, b, again)), Describe(a, b, again));
        Assert.AreEqual(again.Membership.Incarnation, a.IncarnationOf(again));
        Assert.AreEqual(again.Membership.Incarnation, b.IncarnationOf(again));
    }

    [TestMethod]
    public void Restart_FasterThanDetection_TheNewIncarnationReplacesTheOld()
    {
        var mesh = new SimulatedMesh();
        var (a, b) = mesh.JoinTwo();
        var old = b.Membership.Incarnation;
        b.Kill();
        mesh.Run(TimeSpan.FromMilliseconds(200));
        var again = mesh.Add("b", b.Id, a);

        Assert.IsTrue(mesh.Run(Second, () => a.IncarnationOf(again) > old && a.StateOf(again) == PeerState.Alive));
        Assert.AreEqual(1, a.Unlinks.GetValueOrDefault(b.Id), "a restart (another run) is linked anew");
        mesh.Run(TimeSpan.FromSeconds(4));
        Assert.AreEqual(PeerState.Alive, a.StateOf(again), "the old incarnation's silence is not held against the new one");
        Assert.AreEqual(0L, a.Counters.MeshDeaths);
    }

    [TestMethod]
    public void Life_AMemberThatNeverAnswersProbesButKeepsPulsing_IsNeverSuspected()
    {
        var mesh = new SimulatedMesh();
        var (a, b) = mesh.JoinTwo();

        b.MutePongs = true;
        mesh.Run(TimeSpan.FromSeconds(5));

        Assert.IsGreaterThan(5L, a.Counters.MeshProbes, "a kept probing b");
        Assert.AreEqual(0L, a.Counters.MeshSuspicions, "any traffic from a member counts as a sign of life");
    }

    [TestMethod]
    public void Leave_IsAnnounced_AndTheMemberIsNeitherSuspectedNorRetried()
    {
        var mesh = new SimulatedMesh();
        var (a, b) = mesh.JoinTwo();

        b.Membership.Leave();
        mesh.Deliver();
        b.Kill();
        mesh.Run(TimeSpan.FromSeconds(5));

        Assert.AreEqual(PeerState.Left, a.StateOf(b));
        Assert.AreEqual(0L, a.Counters.MeshSuspicions);
        Assert.AreEqual(0L, a.Counters.MeshJoinAttempts, "a member that left is not retried");
    }

    [TestMethod]
    public void LocalHealth_AnIsolatedMemberMissesItsNacks_AndSlowsItsVerdicts()
    {
        var mesh = new SimulatedMesh();
        var (a, b, c, d) = mesh.JoinFour();
        mesh.Run(Second);

        // a loses the network: its probes fail and the helpers' nacks never come back. It is the slow one (Lifeguard).
        mesh.Cut(a, b);
        mesh.Cut(a, c);
        mesh.Cut(a, d);
        var cutAt = mesh.Elapsed;
        mesh.Run(TimeSpan.FromSeconds(1.2));
        Assert.IsGreaterThan(0, a.Membership.Health, "missed nacks raised a's health score");
        Assert.AreEqual(0, b.Membership.Health, "b's helpers answered (nacks), b is healthy");

        Assert.IsTrue(mesh.Run(TimeSpan.FromSeconds(60), () => a.Counters.MeshDeaths > 0), "a declares in the end");
        var aVerdict = mesh.Elapsed - cutAt;
        TestContextLine($"isolated a declared its first death {aVerdict.TotalMilliseconds} ms after the cut, health {a.Membership.Health}");

        // The others declared a dead in about 2.5 s; a, stretching its timeouts, took at least twice that.
        Assert.AreEqual(PeerState.Dead, b.StateOf(a));
        Assert.IsTrue(aVerdict > TimeSpan.FromSeconds(5), $"a's first verdict came {aVerdict} after the cut");
    }

    [TestMethod]
    public void LocalHealth_AStallOfTheRoutingThread_RaisesTheScore_AndAnsweredProbesLowerIt()
    {
        var mesh = new SimulatedMesh();
        var (a, b) = mesh.JoinTwo();

        a.Stop();
        mesh.Run(TimeSpan.FromMilliseconds(300));
        a.Continue();
        mesh.Run(SimulatedMesh.Step);
        Assert.AreEqual(1, a.Membership.Health, "its own stall made it less sure of its verdicts");

        mesh.Run(TimeSpan.FromSeconds(2));
        Assert.AreEqual(0, a.Membership.Health, "probes answered in time restore it");
    }

    [TestMethod]
    [DataRow("alive", 5, "suspect", 5, "suspect")]
    [DataRow("suspect", 5, "alive", 5, "suspect")]
    [DataRow("suspect", 5, "alive", 6, "alive")]
    [DataRow("alive", 5, "dead", 5, "dead")]
    [DataRow("dead", 5, "alive", 5, "dead")]
    [DataRow("dead", 5, "suspect", 5, "dead")]
    [DataRow("dead", 5, "alive", 6, "alive")]
    [DataRow("alive", 6, "dead", 5, "alive")]
    [DataRow("dead", 5, "left", 5, "left")]
    [DataRow("left", 5, "alive", 5, "left")]
    [DataRow("left", 5, "alive", 9, "alive")]
    public void Merge_HigherIncarnationWins_AtTheSameIncarnationSuspectBeatsAliveAndDeadBeatsBoth(
        string first, int firstIncarnation, string then, int thenIncarnation, string expected)
    {
        var mesh = new SimulatedMesh();
        var a = mesh.Add("a");
        var origin = mesh.Add("origin");
        var x = Thynapse.Core.Thid.NewRandom();

        Say(first, firstIncarnation);
        Say(then, thenIncarnation);

        Assert.IsTrue(a.Membership.TryGet(x, out var member));
        Assert.AreEqual(expected, MemberRecord.StateName(member.State));
        return;

        void Say(string state, int incarnation)
        {
            var parsed = Enum.Parse<PeerState>(state, ignoreCase: true);
            var record = new MemberRecord(x, incarnation, parsed, "tcp://x:1", "tcp://x:2", parsed == PeerState.Suspect ? origin.Id : default);
            a.Membership.OnMembers(new MembersMessage(new StreamHeader(origin.Id, 1, 1), [record]), answer: false);
        }
    }

    [TestMethod]
    public void Refute_ARecordSayingThisMemberIsSuspect_RaisesItsIncarnationAndBroadcastsIt()
    {
        var mesh = new SimulatedMesh();
        var (a, b) = mesh.JoinTwo();
        var before = a.Membership.Incarnation;

        var accusation = a.Membership.Self with { State = PeerState.Suspect, From = b.Id };
        a.Membership.OnMembers(new MembersMessage(new StreamHeader(b.Id, b.Membership.Incarnation, 1), [accusation]), answer: false);
        mesh.Deliver();

        Assert.AreEqual(before + 1, a.Membership.Incarnation);
        Assert.AreEqual(before + 1, b.IncarnationOf(a), "b heard the refutation");
        Assert.AreEqual(PeerState.Alive, b.StateOf(a));
        Assert.AreEqual(0, b.Unlinks.GetValueOrDefault(a.Id), "the refutation says the run it started at: b keeps its links to a");

        var stale = a.Membership.Self with { State = PeerState.Dead, Incarnation = before };
        a.Membership.OnMembers(new MembersMessage(new StreamHeader(b.Id, b.Membership.Incarnation, 2), [stale]), answer: false);
        Assert.AreEqual(before + 1, a.Membership.Incarnation, "an accusation about an older incarnation needs no refutation");
    }

    [TestMethod]
    public void Renew_ANewerIncarnationOfAnotherRun_OrWithoutOne_IsLinkedAnew_OneOfTheSameRunIsNot()
    {
        var mesh = new SimulatedMesh();
        var (a, b) = mesh.JoinTwo();
        var self = b.Membership.Self;
        Assert.AreEqual(b.Membership.Incarnation, self.Run, "a process's records say the incarnation it started at");
        var at = 1L;

        void Say(MemberRecord record) => a.Membership.OnMembers(new MembersMessage(new StreamHeader(b.Id, record.Incarnation, ++at), [record]), answer: false);

        Say(self with { Incarnation = self.Incarnation + 1 });
        Assert.AreEqual(self.Incarnation + 1, a.IncarnationOf(b));
        Assert.AreEqual(0, a.Unlinks.GetValueOrDefault(b.Id), "the same run: a refutation, links kept");

        Say(self with { Incarnation = self.Incarnation + 2, Run = 0 });
        Assert.AreEqual(1, a.Unlinks.GetValueOrDefault(b.Id), "a record that does not say its run (a member predating the field) is taken for a restart");

        Say(self with { Incarnation = self.Incarnation + 2 });
        Say(self with { Incarnation = self.Incarnation + 3 });
        Assert.AreEqual(1, a.Unlinks.GetValueOrDefault(b.Id), "the run learnt from a record of the same incarnation that says it");

        Say(self with { Incarnation = self.Incarnation + 4, Run = self.Incarnation + 4 });
        Assert.AreEqual(2, a.Unlinks.GetValueOrDefault(b.Id), "another run: a restart, linked anew");

        Say(self with { Incarnation = self.Incarnation + 5, Run = self.Incarnation + 4, Events = "tcp://b:3" });
        Assert.AreEqual(3, a.Unlinks.GetValueOrDefault(b.Id), "the same run at new endpoints: linked anew");
    }

    private static void TestContextLine(string line) => Console.WriteLine(line);
}
