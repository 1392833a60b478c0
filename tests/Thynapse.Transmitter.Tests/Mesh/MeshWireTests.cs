using NetMQ.Sockets;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// A peer written from PROTOCOL.md §12 alone, with plain sockets (a DEALER, a ROUTER, an XPUB), meshing with a real
/// transmitter: the join both ways, the subscriptions it makes, and what it does when the peer's streams lose messages.
/// </summary>
[TestClass]
public sealed class MeshWireTests : TestBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [TestMethod]
    [Timeout(30_000)]
    public async Task APeerFromTheSpec_Joins_IsJoinedBack_AndItsLostMessagesAreSeenAndRepaired()
    {
        await using var transmitter = Transmitters.StartLoopback();
        using var peer = new FakePeer();

        // The peer joins: JOIN on the transmitter's command socket, answered there with MEMB.
        peer.Link.Connect(transmitter.CommandEndpoint);
        peer.Link.SendFrame(peer.Join());
        var answer = Json(peer.Link.ReceiveFrameString(Wait, "MEMB answering our JOIN"), "MEMB");
        Assert.AreEqual(transmitter.Id.ToString(), (string?)answer["id"]);
        Assert.AreEqual(peer.Id.ToString(), (string?)((JArray)answer["members"]!)[1]["id"], "we are a member now");

        // The transmitter joins back: JOIN first on its own link to our command socket; we answer with MEMB.
        var (routingId, join) = peer.ExpectRequest("JOIN");
        Assert.AreEqual(transmitter.Id.ToString(), (string?)join["id"]);
        Assert.AreEqual(transmitter.Incarnation, (long)join["incarnation"]!);
        Assert.AreEqual(1, (int)join["mesh"]!);
        peer.Commands.SendMoreFrame(routingId).SendFrame(peer.Members(seq: 0));

        // It subscribes to our event socket: the broadcast topic and its own THID.
        var topics = new HashSet<string> { peer.ExpectSubscription(), peer.ExpectSubscription() };
        CollectionAssert.AreEquivalent(new[] { "$mesh", transmitter.Id.ToString() }, topics.ToArray());
        await Eventually.That("the transmitter holds the peer alive", () => transmitter.Peers.Any(p => p.Id == peer.Id && p.State == PeerState.Alive), cancellationToken: Ct);

        // Broadcast 1 arrives, 2 is lost, 3 arrives: a gap of one, repaired with a snapshot (a JOIN to us).
        var other = Thid.NewRandom();
        peer.Publish("$mesh", peer.Header("MEMB", 1, new JObject { ["members"] = new JArray(Record(other, "alive")) }));
        peer.Publish("$mesh", peer.Header("MEMB", 3, new JObject { ["members"] = new JArray() }));
        var (_, snapshot) = peer.ExpectRequest("JOIN");
        Assert.AreEqual(transmitter.Id.ToString(), (string?)snapshot["id"]);
        Assert.AreEqual(1L, transmitter.Stats.MeshMessagesLost);
        Assert.AreEqual(1L, transmitter.Stats.MeshSnapshots);
        Assert.IsTrue(transmitter.Peers.Any(p => p.Id == other), "what broadcast 1 said was merged: a member learned from a member");

        // A pulse naming broadcast 5 when 3 was the last heard: a lost tail of two. Directed: 1 heard, the pulse says 3.
        peer.Publish(transmitter.Id.ToString(), peer.Header("PONG", 1, new JObject { ["nonce"] = 123_456 }));
        peer.Publish("$mesh", peer.Header("PULS", 5, new JObject { ["to"] = new JObject { [transmitter.Id.ToString()] = 3 } }));
        await Eventually.That("the lost tails are counted", () => transmitter.Stats.MeshMessagesLost == 5, cancellationToken: Ct);
        Assert.AreEqual(0L, transmitter.Stats.MeshMalformed);

        // A message of an older incarnation of the peer is ignored, and malformed ones are counted, not fatal.
        peer.Publish("$mesh", Encoding.UTF8.GetBytes($"J MEMB {{\"id\":\"{peer.Id}\",\"incarnation\":99,\"seq\":1,\"members\":[]}}"));
        peer.Publish("$mesh", "J MEMB {\"members\":[]}"u8.ToArray());
        await Eventually.That("the malformed message is counted", () => transmitter.Stats.MeshMalformed == 1, cancellationToken: Ct);
        Assert.AreEqual(5L, transmitter.Stats.MeshMessagesLost, "the old incarnation's numbers are not this one's");

        // NetMQ #614: a leftover topic frame glued in front of the next message ([topic, topic, header]); the leftover
        // is dropped (counted as malformed) and the message behind it is read.
        var glued = Thid.NewRandom();
        peer.Events.SendMoreFrame("$mesh").SendMoreFrame("$mesh").SendFrame(peer.Header("MEMB", 6, new JObject { ["members"] = new JArray(Record(glued, "alive")) }));
        await Eventually.That("the member the glued message names is merged", () => transmitter.Peers.Any(p => p.Id == glued), cancellationToken: Ct);
        Assert.AreEqual(2L, transmitter.Stats.MeshMalformed, "the leftover frame is counted");
        Assert.AreEqual(5L, transmitter.Stats.MeshMessagesLost, "number 6 follows 5: nothing lost");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task APeerFromTheSpec_GetsTheTransmittersCells_AndItsOwnCellsAreListedThere()
    {
        await using var transmitter = Transmitters.StartLoopback();
        using var early = RawClient.Welcomed(transmitter.CommandEndpoint, "early");
        using var peer = new FakePeer();
        using var listener = new SubscriberSocket();
        listener.Options.Linger = TimeSpan.Zero;
        listener.Connect(transmitter.EventsEndpoint);
        listener.Subscribe("$mesh");

        // The JOIN answer carries the transmitter's cells (§12.8): the early cell, up, at a version up to cellsAt.
        peer.Link.Connect(transmitter.CommandEndpoint);
        peer.Link.SendFrame(peer.Join());
        var answer = Json(peer.Link.ReceiveFrameString(Wait, "MEMB answering our JOIN"), "MEMB");
        var cell = (JObject)((JArray)answer["cells"]!).Single();
        Assert.AreEqual(early.Id.ToString(), (string?)cell["id"]);
        Assert.AreEqual("up", (string?)cell["state"]);
        Assert.AreEqual(transmitter.Incarnation, (long)cell["version"]![0]!);
        Assert.IsLessThanOrEqualTo((long)answer["cellsAt"]![1]!, (long)cell["version"]![1]!);

        // We answer its JOIN with our own snapshot: one cell of ours, which its cells then list with us as transmitter.
        var (routingId, _) = peer.ExpectRequest("JOIN");
        var ours = Thid.NewRandom();
        var members = JObject.Parse(peer.Members(seq: 0)[7..]);
        members["cells"] = new JArray(new JObject { ["id"] = ours.ToString(), ["state"] = "up", ["version"] = new JArray(peer.Incarnation, 1), ["service"] = "remote", ["tags"] = new JArray(), ["metadata"] = new JObject { ["at"] = "peer" } });
        members["cellsAt"] = new JArray(peer.Incarnation, 1);
        peer.Commands.SendMoreFrame(routingId).SendFrame("J MEMB " + members.ToString(Newtonsoft.Json.Formatting.None));
        using var asker = RawClient.Welcomed(transmitter.CommandEndpoint, "asker");
        await Eventually.That("the peer's cell is listed", () => ListRemote(asker).Count == 1, cancellationToken: Ct);
        Assert.AreEqual(peer.Id.ToString(), (string?)ListRemote(asker).Single()["transmitter"]);

        // A cell joining the transmitter is broadcast at once as CELS (after a PULS shows our subscription is in place).
        ExpectBroadcast(listener, "PULS");
        using var late = RawClient.Welcomed(transmitter.CommandEndpoint, "late");
        var cels = ExpectBroadcast(listener, "CELS");
        Assert.AreEqual(late.Id.ToString(), (string?)cels["cells"]![0]!["id"]);
        Assert.AreEqual("up", (string?)cels["cells"]![0]!["state"]);

        // Our cell goes down (CELS 1 on our broadcast stream); a late, older up does not bring it back.
        peer.Publish("$mesh", peer.Header("CELS", 1, new JObject { ["cells"] = new JArray(new JObject { ["id"] = ours.ToString(), ["state"] = "down", ["version"] = new JArray(peer.Incarnation, 2) }) }));
        await Eventually.That("the peer's cell is no longer listed", () => ListRemote(asker).Count == 0, cancellationToken: Ct);
        peer.Publish("$mesh", peer.Header("CELS", 2, new JObject { ["cells"] = new JArray(new JObject { ["id"] = ours.ToString(), ["state"] = "up", ["version"] = new JArray(peer.Incarnation, 1), ["service"] = "remote" }) }));
        var marker = Thid.NewRandom(); // read after the late up: same stream, in order
        peer.Publish("$mesh", peer.Header("CELS", 3, new JObject { ["cells"] = new JArray(new JObject { ["id"] = marker.ToString(), ["state"] = "up", ["version"] = new JArray(peer.Incarnation, 3), ["service"] = "remote" }) }));
        await Eventually.That("the marker cell is listed", () => ListRemote(asker).Count > 0, cancellationToken: Ct);
        Assert.AreEqual(marker.ToString(), (string?)ListRemote(asker).Single()["id"], "the tombstone held: the late, older up did not bring our cell back");
        Assert.AreEqual(0L, transmitter.Stats.MeshMalformed);
    }

    private static List<JToken> ListRemote(RawClient asker)
    {
        asker.SendJson("LIST", new JObject { ["service"] = "remote" });
        return [.. (JArray)asker.Expect("OKAY", "OKAY for LIST").Payload["cells"]!];
    }

    private static JObject ExpectBroadcast(SubscriberSocket listener, string command)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline)
        {
            if (listener.TryReceiveFrameString(TimeSpan.FromMilliseconds(100), out _) && listener.TryReceiveFrameString(TimeSpan.FromSeconds(1), out var header)
                && header!.StartsWith($"J {command} ", StringComparison.Ordinal))
            {
                return JObject.Parse(header[7..]);
            }
        }

        throw new TimeoutException($"No {command} on the transmitter's event socket within {Wait.TotalSeconds} s.");
    }

    private static JObject Record(Thid id, string state) => new()
    {
        ["id"] = id.ToString(), ["incarnation"] = 7, ["state"] = state, ["command"] = "tcp://127.0.0.1:9", ["pub"] = "tcp://127.0.0.1:10",
    };

    private static JObject Json(string frame, string command)
    {
        Assert.StartsWith($"J {command} ", frame);
        return JObject.Parse(frame[7..]);
    }

    /// <summary>The sockets PROTOCOL.md §12.1 lists, and nothing else.</summary>
    private sealed class FakePeer : IDisposable
    {
        public FakePeer()
        {
            CommandEndpoint = $"tcp://127.0.0.1:{Commands.BindRandomPort("tcp://127.0.0.1")}";
            EventsEndpoint = $"tcp://127.0.0.1:{Events.BindRandomPort("tcp://127.0.0.1")}";
            foreach (var socket in new NetMQSocket[] { Commands, Events, Link })
            {
                socket.Options.Linger = TimeSpan.Zero;
            }
        }

        public Thid Id { get; } = Thid.NewRandom();

        public long Incarnation { get; } = 100;

        public RouterSocket Commands { get; } = new();

        public XPublisherSocket Events { get; } = new();

        public DealerSocket Link { get; } = new();

        public string CommandEndpoint { get; }

        public string EventsEndpoint { get; }

        public string Join() => "J JOIN " + new JObject
        {
            ["mesh"] = 1, ["id"] = Id.ToString(), ["incarnation"] = Incarnation, ["command"] = CommandEndpoint, ["pub"] = EventsEndpoint, ["members"] = new JArray(),
        }.ToString(Newtonsoft.Json.Formatting.None);

        public string Members(long seq) => "J MEMB " + new JObject
        {
            ["id"] = Id.ToString(), ["incarnation"] = Incarnation, ["seq"] = seq,
            ["members"] = new JArray(new JObject { ["id"] = Id.ToString(), ["incarnation"] = Incarnation, ["state"] = "alive", ["command"] = CommandEndpoint, ["pub"] = EventsEndpoint }),
        }.ToString(Newtonsoft.Json.Formatting.None);

        public byte[] Header(string command, long seq, JObject rest)
        {
            var json = new JObject { ["id"] = Id.ToString(), ["incarnation"] = Incarnation, ["seq"] = seq };
            json.Merge(rest);
            return Encoding.UTF8.GetBytes($"J {command} {json.ToString(Newtonsoft.Json.Formatting.None)}");
        }

        public void Publish(string topic, byte[] header) => Events.SendMoreFrame(topic).SendFrame(header);

        /// <summary>The next request of <paramref name="command"/> on our command socket, skipping probes (this test needs none answered).</summary>
        public (byte[] RoutingId, JObject Payload) ExpectRequest(string command)
        {
            var deadline = DateTime.UtcNow + Wait;
            while (DateTime.UtcNow < deadline)
            {
                var frames = new List<byte[]>();
                if (!Commands.TryReceiveMultipartBytes(TimeSpan.FromMilliseconds(100), ref frames))
                {
                    continue;
                }

                var header = Encoding.UTF8.GetString(frames[1]);
                if (header.StartsWith($"J {command} ", StringComparison.Ordinal))
                {
                    return (frames[0], JObject.Parse(header[7..]));
                }
            }

            throw new TimeoutException($"No {command} on the fake peer's command socket within {Wait.TotalSeconds} s.");
        }

        /// <summary>The topic of the next subscription the transmitter's SUB makes on our event socket.</summary>
        public string ExpectSubscription()
        {
            if (!Events.TryReceiveFrameBytes(Wait, out var frame))
            {
                throw new TimeoutException("The transmitter did not subscribe to the fake peer's event socket.");
            }

            Assert.AreEqual(1, frame[0], "a subscription, not an unsubscription");
            return Encoding.ASCII.GetString(frame, 1, frame.Length - 1);
        }

        public void Dispose()
        {
            Link.Dispose();
            Commands.Dispose();
            Events.Dispose();
        }
    }
}

internal static class FrameExtensions
{
    public static string ReceiveFrameString(this DealerSocket socket, TimeSpan timeout, string what) =>
        socket.TryReceiveFrameString(timeout, out var frame) ? frame! : throw new TimeoutException($"No {what} within {timeout.TotalSeconds} s.");
}
