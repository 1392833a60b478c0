namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>Sequence numbers of peers' streams (PROTOCOL.md §12.2) and the mesh messages' readers and writers (§12.5).</summary>
[TestClass]
public sealed class PeerStreamsTests
{
    private static readonly Thid Peer = Thid.NewRandom();

    [TestMethod]
    public void Observe_InOrder_ThenASkippedNumber_IsAGapCountingWhatWasLost()
    {
        var streams = new PeerStreams();

        Assert.AreEqual(StreamVerdict.InOrder, streams.Observe(Peer, 7, StreamKind.Broadcast, 4, out _), "the first number heard is where the stream stands");
        Assert.AreEqual(StreamVerdict.InOrder, streams.Observe(Peer, 7, StreamKind.Broadcast, 5, out _));
        Assert.AreEqual(StreamVerdict.Gap, streams.Observe(Peer, 7, StreamKind.Broadcast, 9, out var lost));
        Assert.AreEqual(3L, lost, "6, 7 and 8");
        Assert.AreEqual(StreamVerdict.InOrder, streams.Observe(Peer, 7, StreamKind.Broadcast, 7, out _), "a late one is taken, not a gap");
        Assert.AreEqual(StreamVerdict.InOrder, streams.Observe(Peer, 7, StreamKind.Directed, 1, out _), "each stream has its own numbers");
        Assert.AreEqual(3L, streams.Missing);
    }

    [TestMethod]
    public void LeftoverTopics_GluedInFrontOfAMessage_AreCounted_AndAHeaderIsNeverTakenForOne()
    {
        var own = Encoding.ASCII.GetBytes(Peer.ToString());
        byte[] mesh = [.. "$mesh"u8], header = [.. "J PULS {}"u8], body = [1, 2, 3];

        Assert.AreEqual(0, PeerSubscriber.LeftoverTopics([mesh, header], own));
        Assert.AreEqual(0, PeerSubscriber.LeftoverTopics([own, header, body], own));
        Assert.AreEqual(1, PeerSubscriber.LeftoverTopics([mesh, mesh, header], own), "NetMQ #614: [topic, topic, header, payload]");
        Assert.AreEqual(2, PeerSubscriber.LeftoverTopics([own, mesh, own, header, body], own), "leftovers of either topic");
        Assert.AreEqual(0, PeerSubscriber.LeftoverTopics([mesh], own), "a lone frame is left for the reader to refuse");
    }

    [TestMethod]
    public void ObservePulse_NamingANumberNotHeard_IsALostTail()
    {
        var streams = new PeerStreams();
        streams.Observe(Peer, 7, StreamKind.Directed, 1, out _);

        Assert.AreEqual(StreamVerdict.InOrder, streams.ObservePulse(Peer, 7, StreamKind.Directed, 1, out _));
        Assert.AreEqual(StreamVerdict.Gap, streams.ObservePulse(Peer, 7, StreamKind.Directed, 3, out var lost));
        Assert.AreEqual(2L, lost, "2 and 3 were published and never arrived");
        Assert.AreEqual(StreamVerdict.InOrder, streams.Observe(Peer, 7, StreamKind.Directed, 4, out _), "the stream goes on after the tail");
    }

    [TestMethod]
    public void Observe_ANewIncarnation_StartsAfresh_AndTheOldOneIsStale()
    {
        var streams = new PeerStreams();
        streams.Observe(Peer, 7, StreamKind.Broadcast, 50, out _);

        Assert.AreEqual(StreamVerdict.InOrder, streams.Observe(Peer, 8, StreamKind.Broadcast, 1, out _), "a restart numbers from 1 again");
        Assert.AreEqual(StreamVerdict.Stale, streams.Observe(Peer, 7, StreamKind.Broadcast, 51, out _));
    }

    [TestMethod]
    public void Synced_ASnapshotCoversTheNumbersUpToIt()
    {
        var streams = new PeerStreams();
        streams.Synced(Peer, 7, 10);

        Assert.AreEqual(StreamVerdict.InOrder, streams.Observe(Peer, 7, StreamKind.Broadcast, 11, out _));
        Assert.AreEqual(StreamVerdict.Gap, streams.Observe(Peer, 7, StreamKind.Broadcast, 13, out _));
    }

    [TestMethod]
    public void Messages_RoundTripThroughTheirWireForm()
    {
        var me = new MemberRecord(Peer, 1_700_000_000_000, PeerState.Alive, "tcp://10.0.0.5:4710", "tcp://10.0.0.5:4711", Records: 4, Run: 1_699_999_999_000);
        var other = new MemberRecord(Thid.NewRandom(), 3, PeerState.Suspect, "tcp://10.0.0.6:4710", "tcp://10.0.0.6:4711", Peer);

        var join = Read(new JoinMessage(me, [other]).ToFrame(), MeshCommand.Join);
        Assert.AreEqual(ThynapseErrorCode.None, JoinMessage.TryRead(join, out var readJoin, out _));
        Assert.AreEqual(me, readJoin!.Sender);
        Assert.AreEqual(other, readJoin.Members.Single());

        var members = Read(new MembersMessage(new StreamHeader(Peer, 5, 12), [me, other]).ToFrame(), MeshCommand.Memb);
        Assert.IsTrue(MembersMessage.TryRead(members, out var readMembers, out _));
        Assert.AreEqual(new StreamHeader(Peer, 5, 12), readMembers!.Header);
        CollectionAssert.AreEqual(new[] { me, other }, readMembers.Members.ToArray());

        var pulse = Read(new PulseMessage(new StreamHeader(Peer, 5, 12), new Dictionary<Thid, long> { [other.Id] = 4 }).ToFrame(), MeshCommand.Puls);
        Assert.IsTrue(PulseMessage.TryRead(pulse, out var readPulse, out _));
        Assert.AreEqual(4L, readPulse!.Directed[other.Id]);

        var ping = Read(new PingMessage(99, Suspect: 3).ToFrame(), MeshCommand.Ping);
        Assert.IsTrue(PingMessage.TryRead(ping, out var readPing, out _));
        Assert.AreEqual(new PingMessage(99, 3), readPing);

        var nack = Read(new ProbeAnswer(new StreamHeader(Peer, 5, 2), 99).ToFrame(MeshCommand.Pnak), MeshCommand.Pnak);
        Assert.IsTrue(ProbeAnswer.TryRead(nack, out var readNack, out _));
        Assert.AreEqual(99UL, readNack.Nonce);
    }

    [TestMethod]
    [DataRow(0L, "field 'run' (the incarnation its process started at) must be from 1 to the record's incarnation (7), not 0")]
    [DataRow(8L, "field 'run' (the incarnation its process started at) must be from 1 to the record's incarnation (7), not 8")]
    public void ARunOutsideItsRecordsIncarnations_IsRefused_NamingTheField(long run, string expected)
    {
        var record = new JObject { ["id"] = Peer.ToString(), ["incarnation"] = 7, ["state"] = "alive", ["command"] = "tcp://10.0.0.5:4710", ["pub"] = "tcp://10.0.0.5:4711", ["run"] = run };
        Assert.IsNull(MemberRecord.Read(record, 2, out var error));
        Assert.AreEqual($"members[2]: {expected}", error);

        var join = (JObject)record.DeepClone();
        join.Remove("state");
        join["mesh"] = JoinMessage.Version;
        Assert.AreEqual(ThynapseErrorCode.InvalidField, JoinMessage.TryRead(join, out _, out error));
        Assert.AreEqual(expected, error);
    }

    [TestMethod]
    [DataRow("J PONG {}", "J PONG")]
    [DataRow("J JOIN {\"mesh\":1}", "J JOIN")]
    public void MeshCommands_AreNotCellCommands(string frame, string prefix)
    {
        Assert.AreEqual(Command.Unknown, CommandNames.Parse(System.Text.Encoding.ASCII.GetBytes(frame).AsSpan(2, 4)), $"{prefix} must never collide with a cell command (PROTOCOL.md §5)");
        Assert.AreNotEqual(MeshCommand.None, MeshCommands.Parse(System.Text.Encoding.ASCII.GetBytes(frame).AsSpan(2, 4)));
    }

    [TestMethod]
    public void MeshCommands_NoneCollidesWithACellCommand()
    {
        foreach (var mesh in Enum.GetValues<MeshCommand>().Where(c => c != MeshCommand.None))
        {
            Assert.AreEqual(Command.Unknown, CommandNames.Parse(System.Text.Encoding.ASCII.GetBytes(MeshCommands.Of(mesh))), MeshCommands.Of(mesh));
        }
    }

    [TestMethod]
    public void SeedEndpoints_ANameWithSeveralAddresses_GivesOneSeedPerAddress_IPv4First()
    {
        var headless = new[] { "10.1.0.7", "10.1.0.8", "10.1.0.7", "fd00::9" }.Select(System.Net.IPAddress.Parse).ToList();
        CollectionAssert.AreEqual(new[] { "tcp://10.1.0.7:4710", "tcp://10.1.0.8:4710" }, SeedResolver.SeedEndpoints(headless, "4710"));

        var v6 = new[] { "fd00::9", "fd00::a" }.Select(System.Net.IPAddress.Parse).ToList();
        CollectionAssert.AreEqual(new[] { "tcp://[fd00::9]:4710", "tcp://[fd00::a]:4710" }, SeedResolver.SeedEndpoints(v6, "4710"));
        Assert.IsEmpty(SeedResolver.SeedEndpoints([], "4710"));
    }

    private static JObject Read(byte[] frame, MeshCommand expected)
    {
        Assert.IsTrue(MeshFrames.TryParse(frame, out var command, out var json, out var error), error);
        Assert.AreEqual(expected, command);
        return json!;
    }
}
