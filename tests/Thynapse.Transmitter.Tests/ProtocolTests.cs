namespace Thynapse.Transmitter.Tests;

/// <summary>The exchanges of PROTOCOL.md, spoken by hand to a real transmitter.</summary>
[TestClass]
public sealed class ProtocolTests : TestBase
{
    private static readonly Transmitter _transmitter = SharedTransmitter.Instance;

    [TestMethod]
    [Timeout(15_000)]
    public void Helo_InTheOriginalFormIsAnsweredWithWlcmAsTheFirstFrame()
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);
        client.Send($"J HELO {{\"id\": \"{client.Id}\", \"service\": \"{TestIds.Next("svc")}\"}}");

        var reply = client.Receive("WLCM");
        var header = Encoding.UTF8.GetString(reply[0]);

        Assert.StartsWith("J WLCM {", header);
        var welcome = JObject.Parse(header[7..]);
        Assert.AreEqual(_transmitter.Id.ToString(), welcome.Value<string>("id"));
        Assert.AreEqual(_transmitter.EventsEndpoint, welcome.Value<string>("pub"));
        Assert.AreEqual(1, welcome.Value<int>("protocol"));
        Assert.IsGreaterThan(0, welcome.Value<int>("heartbeat"));
        Assert.IsGreaterThan(welcome.Value<int>("heartbeat"), welcome.Value<int>("liveness"));
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Wlcm_AnnouncesEveryLimitTheTransmitterEnforces()
    {
        await using var limited = Transmitters.StartLoopback(o => o with
        {
            MaxFrameBytes = 200_000,
            MaxHeaderBytes = 50_000,
            MaxSubscriptionsPerCell = 7,
            MaxMetadataBytes = 999,
            ServiceQueueLimit = 1234,
        });
        using var client = new RawClient(limited.CommandEndpoint);

        var limits = (JObject)client.Hello(TestIds.Next("svc"))["limits"]!;

        Assert.AreEqual(200_000, limits.Value<int>("frame"));
        Assert.AreEqual(50_000, limits.Value<int>("header"));
        Assert.AreEqual(7, limits.Value<int>("subscriptions"));
        Assert.AreEqual(255, limits.Value<int>("channel"));
        Assert.AreEqual(999, limits.Value<int>("metadata"));
        Assert.AreEqual(1234, limits.Value<int>("queue"), "the service-queue bound (PROTOCOL.md §5.2, §8.1)");
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Wlcm_DefaultLimitsAreThoseOfPROTOCOL()
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);

        var limits = (JObject)client.Hello(TestIds.Next("svc"))["limits"]!;

        Assert.AreEqual(1024 * 1024, limits.Value<int>("frame"));
        Assert.AreEqual(64 * 1024, limits.Value<int>("header"));
        Assert.AreEqual(10_000, limits.Value<int>("subscriptions"));
        Assert.AreEqual(16 * 1024, limits.Value<int>("metadata"));
        Assert.AreEqual(100_000, limits.Value<int>("queue"));
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Helo_WithEncodingsBOnly_StillGetsJ()
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);

        var welcome = client.Hello(TestIds.Next("svc"), new JObject { ["encodings"] = new JArray("B") });

        CollectionAssert.AreEquivalent(new[] { "J", "B" }, welcome["encodings"]!.Values<string>().ToArray(), "J is always spoken");
        client.Send("J BEAT");
        Assert.AreEqual("BEAT", client.ReceiveJson("a J answer").Command);
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Wlcm_PubIsConnectableWhenBoundToEveryInterface()
    {
        await using var wildcard = Transmitters.StartLoopback(o => o with { CommandEndpoint = "tcp://*:*", EventsEndpoint = "tcp://0.0.0.0:0" });
        using var client = new RawClient(wildcard.CommandEndpoint.Replace("tcp://", "tcp://", StringComparison.Ordinal));

        var pub = client.Hello(TestIds.Next("svc")).Value<string>("pub")!;

        Assert.StartsWith("tcp://", pub);
        Assert.DoesNotContain("*", pub);
        Assert.DoesNotContain("0.0.0.0", pub);
        // Connectable means something answers there: a ZeroMQ PUB socket (a SUB's Connect succeeds for any address).
        Assert.AreEqual("PUB", await ZmtpSocketTypeAsync(pub, Ct), $"the socket at {pub}");
    }

    /// <summary>
    /// Connects over TCP to <paramref name="endpoint"/>, speaks the start of ZMTP 3.0 (greeting, NULL mechanism) and
    /// returns the <c>Socket-Type</c> the peer's <c>READY</c> announces (RFC 23). Fails within 5 s if nothing answers.
    /// </summary>
    private static async Task<string> ZmtpSocketTypeAsync(string endpoint, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var ct = timeout.Token;
        var address = new Uri(endpoint);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, ct);
        var stream = tcp.GetStream();

        var greeting = new byte[64];
        greeting[0] = 0xFF;
        greeting[9] = 0x7F;
        greeting[10] = 3; // version 3.0
        "NULL"u8.CopyTo(greeting.AsSpan(12));
        await stream.WriteAsync(greeting, ct);
        var theirs = new byte[64];
        await stream.ReadExactlyAsync(theirs, ct);
        Assert.IsTrue(theirs[0] == 0xFF && theirs[9] == 0x7F, $"no ZMTP signature from {endpoint}");
        Assert.AreEqual("NULL", Encoding.ASCII.GetString(theirs, 12, 20).TrimEnd('\0'), "the peer's mechanism");

        // READY: a command frame (flags 0x04, or 0x06 with an 8-byte size), "\x05READY", then name/value properties.
        var flags = new byte[1];
        await stream.ReadExactlyAsync(flags, ct);
        Assert.AreEqual(0x04, flags[0] & 0x04, "the peer's first frame after the greeting is a command");
        var sizeBytes = new byte[(flags[0] & 0x02) != 0 ? 8 : 1];
        await stream.ReadExactlyAsync(sizeBytes, ct);
        var size = sizeBytes.Length == 1 ? sizeBytes[0] : (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(sizeBytes);
        var body = new byte[size];
        await stream.ReadExactlyAsync(body, ct);
        Assert.AreEqual("READY", Encoding.ASCII.GetString(body, 1, body[0]), "the peer's first command");
        for (var at = 1 + body[0]; at < body.Length;)
        {
            var name = Encoding.ASCII.GetString(body, at + 1, body[at]);
            at += 1 + body[at];
            var length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(at));
            at += 4;
            if (string.Equals(name, "Socket-Type", StringComparison.OrdinalIgnoreCase))
            {
                return Encoding.ASCII.GetString(body, at, length);
            }

            at += length;
        }

        throw new AssertFailedException($"the READY from {endpoint} names no Socket-Type");
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Evnt_InTheOriginalFormIsRoutedWithAnEmptyBody()
    {
        var channel = TestIds.Next("orig") + ".created";
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "rx", channel);
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx");

        sender.Send($"J EVNT {{\"channel\": \"{channel}\"}}");

        var (delivery, body) = receiver.Expect("DLVR");
        Assert.AreEqual(channel, delivery.Value<string>("channel"));
        Assert.AreEqual("multi", delivery.Value<string>("mode"));
        Assert.AreEqual(sender.Id.ToString(), delivery.Value<string>("origin"));
        Assert.IsNotNull(body);
        Assert.IsEmpty(body);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Evnt_WithConfirmIsAcceptedWithItsReceiverCount()
    {
        var channel = TestIds.Next("conf");
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "rx", channel, "any");
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx");

        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 41, ["confirm"] = true }, "payload"u8.ToArray());
        var (accepted, _) = sender.Expect("ACPT");
        sender.SendJson("EVNT", new JObject { ["channel"] = channel + ".nobody", ["seq"] = 42, ["confirm"] = true });
        var (unrouted, _) = sender.Expect("ACPT");

        Assert.AreEqual(41, accepted.Value<int>("seq"));
        Assert.AreEqual(1, accepted.Value<int>("receivers"));
        Assert.AreEqual(42, unrouted.Value<int>("seq"));
        Assert.AreEqual(0, unrouted.Value<int>("receivers"));
        var (delivery, body) = receiver.Expect("DLVR");
        Assert.AreEqual("any", delivery.Value<string>("mode"));
        Assert.AreEqual(1, delivery.Value<int>("sub"));
        Assert.AreEqual(1, delivery.Value<int>("attempt"));
        Assert.IsGreaterThan(0L, delivery.Value<long>("tag"));
        Assert.AreEqual("payload", Encoding.UTF8.GetString(body!));
        var expectedId = Thid.ForEvent(sender.Id, 41, Encoding.ASCII.GetBytes(channel), "payload"u8);
        Assert.AreEqual(expectedId.ToString(), delivery.Value<string>("id"));
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Beat_IsEchoedAndGbyeEndsTheSession()
    {
        using var client = RawClient.Welcomed(_transmitter.CommandEndpoint, "svc");

        client.Send("J BEAT");
        Assert.AreEqual("BEAT", client.ReceiveJson("BEAT").Command);
        client.Send("J GBYE {}");
        Assert.AreEqual("GBYE", client.ReceiveJson("GBYE").Command);
        client.Send("J BEAT {}");
        client.ExpectError(ThynapseErrorCode.NotWelcomed);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Helo_WithTheResumeTokenTakesTheIdOverAndKeepsTheNewSubscriptions()
    {
        var channel = TestIds.Next("resume");
        var service = TestIds.Next("svc");
        using var first = new RawClient(_transmitter.CommandEndpoint);
        var token = first.Hello(service).Value<string>("session")!;
        using var second = new RawClient(_transmitter.CommandEndpoint);
        var hello = new JObject { ["id"] = first.Id.ToString(), ["service"] = service };

        second.SendJson("HELO", hello);
        second.ExpectError(ThynapseErrorCode.IdInUse);

        hello["resume"] = token;
        hello["subs"] = new JArray(new JObject { ["sub"] = 7, ["pattern"] = channel, ["mode"] = "multi" });
        second.SendJson("HELO", hello);
        Assert.AreEqual("WLCM", second.ReceiveJson("WLCM").Command);

        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx");
        sender.SendJson("EVNT", new JObject { ["channel"] = channel });
        Assert.AreEqual(channel, second.Expect("DLVR").Payload.Value<string>("channel"));
        first.Send("J BEAT");
        first.ExpectError(ThynapseErrorCode.NotWelcomed);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Unsb_StopsDeliveryBeforeItsOkay()
    {
        var channel = TestIds.Next("unsb");
        var sentinel = TestIds.Next("sentinel");
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "rx", channel);
        receiver.Subscribe(2, sentinel);
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx");

        receiver.SendJson("UNSB", new JObject { ["sub"] = 1 });
        Assert.AreEqual("UNSB", receiver.Expect("OKAY").Payload.Value<string>("command"));
        sender.SendJson("EVNT", new JObject { ["channel"] = channel });
        sender.SendJson("EVNT", new JObject { ["channel"] = sentinel });

        // Events from one sender arrive in order: the sentinel proves the first event was not delivered.
        var (first, _) = receiver.Expect("DLVR");
        Assert.AreEqual(sentinel, first.Value<string>("channel"));
    }

    [TestMethod]
    [Timeout(15_000)]
    public void BinaryEvents_AreBatchedToBinaryReceiversAndConfirmedInBinary()
    {
        var channel = TestIds.Next("bin");
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "rx", channel + ".*", hello: new JObject { ["encodings"] = new JArray("B", "J") });
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx", new JObject { ["encodings"] = new JArray("B") });

        var frame = new FrameBatch(Command.Evnt);
        EventRecordWriter.Write(frame, false, 1, channel + ".a", default, default, "one"u8);
        EventRecordWriter.Write(frame, true, 2, channel + ".b", default, default, "two"u8);
        sender.Send(frame.Frame.ToArray());

        var accept = sender.Receive("B ACPT")[0];
        Assert.AreEqual("B ACPT ", Encoding.ASCII.GetString(accept, 0, 7));
        Assert.AreEqual(((ulong)2, 1U), AcceptRecord.Read(accept.AsSpan(7), 0));

        var bodies = new List<string>();
        while (bodies.Count < 2)
        {
            var delivery = receiver.Receive("B DLVR")[0];
            Assert.AreEqual("B DLVR ", Encoding.ASCII.GetString(delivery, 0, 7));
            var reader = new DeliveryRecordReader(delivery.AsSpan(7));
            while (reader.TryRead(out var record, out _))
            {
                Assert.AreEqual(sender.Id, record.Origin);
                bodies.Add(Encoding.ASCII.GetString(record.Body));
            }
        }

        CollectionAssert.AreEqual(new[] { "one", "two" }, bodies);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void BinaryDeliveries_NeverMakeAFrameLargerThanTheBatchSize()
    {
        // One inbound frame of 100 KiB of events must leave as several delivery frames, none over BatchBytes:
        // the cell keeps each frame's buffer, and pooled buffers come in powers of two.
        var channel = TestIds.Next("split");
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "rx", channel, hello: new JObject { ["encodings"] = new JArray("B", "J") });
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx", new JObject { ["encodings"] = new JArray("B") });

        const int count = 1_000;
        var frame = new FrameBatch(Command.Evnt);
        var body = new byte[100];
        for (var i = 1; i <= count; i++)
        {
            EventRecordWriter.Write(frame, i == count, (ulong)i, channel, default, default, body);
        }

        sender.Send(frame.Frame.ToArray());

        var received = 0;
        var frames = 0;
        while (received < count)
        {
            var delivery = receiver.Receive("B DLVR")[0];
            Assert.IsLessThanOrEqualTo(TransmitterOptions.Default.BatchBytes, delivery.Length, $"delivery frame {frames} is {delivery.Length} bytes");
            var reader = new DeliveryRecordReader(delivery.AsSpan(7));
            while (reader.TryRead(out _, out _))
            {
                received++;
            }

            frames++;
        }

        Assert.AreEqual(count, received);
        Assert.IsGreaterThan(1, frames, "the burst should need more than one delivery frame");
    }

    [TestMethod]
    [Timeout(15_000)]
    public void AcknowledgedAnycatch_NackRedeliversAckCompletes()
    {
        var channel = TestIds.Next("reliable");
        using var worker = AcknowledgingWorker(sub: 3, channel, prefetch: 2);
        using var publisher = RawClient.Welcomed(_transmitter.CommandEndpoint, "publisher");

        publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 5, ["complete"] = true }, "job"u8.ToArray());
        var (first, _) = worker.Expect("DLVR");
        worker.SendJson("NACK", new JObject { ["tag"] = first.Value<long>("tag"), ["reason"] = "not now" });
        var (second, body) = worker.Expect("DLVR", "the redelivery (this is the service's only cell)");
        worker.SendJson("ACKN", new JObject { ["tags"] = new JArray(second.Value<long>("tag")) });
        var (done, _) = publisher.Expect("DONE");

        Assert.AreEqual(1, first.Value<int>("attempt"));
        Assert.AreEqual(3, first.Value<int>("sub"));
        Assert.AreEqual(2, second.Value<int>("attempt"));
        Assert.AreNotEqual(first.Value<long>("tag"), second.Value<long>("tag"), "each attempt has its own tag");
        Assert.AreEqual("job", Encoding.UTF8.GetString(body!));
        Assert.AreEqual(5, done.Value<int>("seq"));
        Assert.AreEqual("completed", done.Value<string>("outcome"));
        Assert.AreEqual(1, done.Value<int>("receivers"));

        // A late answer for the first attempt is ignored, not refused.
        worker.SendJson("ACKN", new JObject { ["tag"] = first.Value<long>("tag") });
        worker.Send("J BEAT");
        Assert.AreEqual("BEAT", worker.ReceiveJson("BEAT, with no ERRR before it").Command);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void DeadLetter_KeepsTheEventsIdOriginAndSeqAndSaysWhy()
    {
        var channel = TestIds.Next("poison");
        var service = TestIds.Next("fragile");
        using var worker = new RawClient(_transmitter.CommandEndpoint);
        worker.Hello(service);
        worker.SendJson("SUBS", new JObject { ["sub"] = 1, ["pattern"] = channel, ["mode"] = "any", ["ack"] = true, ["maxAttempts"] = 2 });
        Assert.AreEqual("OKAY", worker.ReceiveJson("OKAY").Command);
        using var catcher = RawClient.Subscribed(_transmitter.CommandEndpoint, "dlq", $"$DLQ.{service}");
        using var publisher = RawClient.Welcomed(_transmitter.CommandEndpoint, "publisher");

        publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 9, ["complete"] = true }, "poison"u8.ToArray());
        worker.SendJson("NACK", new JObject { ["tag"] = worker.Expect("DLVR").Payload.Value<long>("tag"), ["reason"] = "bad input" });
        worker.SendJson("NACK", new JObject { ["tag"] = worker.Expect("DLVR", "the second attempt").Payload.Value<long>("tag") });
        var (letter, body) = catcher.Expect("DLVR", "the dead letter");
        var (done, _) = publisher.Expect("DONE");

        Assert.AreEqual($"$DLQ.{service}", letter.Value<string>("channel"));
        Assert.AreEqual(publisher.Id.ToString(), letter.Value<string>("origin"), "the original publisher");
        Assert.AreEqual(9, letter.Value<int>("seq"), "the original sequence number");
        Assert.AreEqual(Thid.ForEvent(publisher.Id, 9, Encoding.ASCII.GetBytes(channel), "poison"u8).ToString(), letter.Value<string>("id"),
            "the original event's THID, over the channel it was published on (PROTOCOL.md §5.5)");
        Assert.AreEqual("poison", Encoding.UTF8.GetString(body!));
        var why = (JObject)letter["deadLetter"]!;
        Assert.AreEqual(channel, why.Value<string>("channel"));
        Assert.AreEqual(service, why.Value<string>("service"));
        Assert.AreEqual(2, why.Value<int>("attempts"));
        Assert.AreEqual("nacked: no reason given", why.Value<string>("reason"), "the last attempt's NACK had no reason");
        Assert.AreEqual("dead_lettered", done.Value<string>("outcome"));
    }

    [TestMethod]
    [DataRow("ack timeout", "no ack within 50 ms")]
    [DataRow("nack", "nacked: bad input")]
    [DataRow("disconnect", "its cell disconnected")]
    [DataRow("gbye", "its cell left")]
    [Timeout(15_000)]
    public void DeadLetter_ReasonSaysWhatEndedTheLastAttempt(string ending, string reason)
    {
        var channel = TestIds.Next("poison");
        var service = TestIds.Next("fragile");
        var worker = new RawClient(_transmitter.CommandEndpoint);
        try
        {
            worker.Hello(service);
            worker.SendJson("SUBS", new JObject { ["sub"] = 1, ["pattern"] = channel, ["mode"] = "any", ["ack"] = true, ["maxAttempts"] = 1, ["ackTimeout"] = 50 });
            Assert.AreEqual("OKAY", worker.ReceiveJson("OKAY").Command);
            using var catcher = RawClient.Subscribed(_transmitter.CommandEndpoint, "dlq", $"$DLQ.{service}");
            using var publisher = RawClient.Welcomed(_transmitter.CommandEndpoint, "publisher");

            publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 1 }, "x"u8.ToArray());
            var tag = worker.Expect("DLVR").Payload.Value<long>("tag");
            switch (ending)
            {
                case "nack":
                    worker.SendJson("NACK", new JObject { ["tag"] = tag, ["reason"] = "bad input" });
                    break;
                case "disconnect":
                    worker.Dispose();
                    break;
                case "gbye":
                    worker.Send("J GBYE");
                    break;
            }

            var (letter, _) = catcher.Expect("DLVR", "the dead letter");
            Assert.AreEqual(reason, letter["deadLetter"]!.Value<string>("reason"));
        }
        finally
        {
            worker.Dispose();
        }
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task ServiceQueue_WhenTheLastCellLeaves_KeepsItsEventsForTheNextCell()
    {
        await using var transmitter = Transmitters.StartLoopback();
        var channel = TestIds.Next("orphaned");
        var service = TestIds.Next("workers");
        var subscribe = new JObject { ["sub"] = 1, ["pattern"] = channel, ["mode"] = "any", ["ack"] = true, ["ackTimeout"] = 50 };
        using var publisher = RawClient.Welcomed(transmitter.CommandEndpoint, "publisher");
        using (var first = new RawClient(transmitter.CommandEndpoint))
        {
            first.Hello(service);
            first.SendJson("SUBS", subscribe);
            Assert.AreEqual("OKAY", first.ReceiveJson("OKAY").Command);
            publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 1, ["confirm"] = true }, "job"u8.ToArray());
            Assert.AreEqual(1, first.Expect("DLVR").Payload.Value<int>("attempt"));
            Assert.AreEqual(1, publisher.Expect("ACPT").Payload.Value<int>("receivers"));
            first.Send("J GBYE");
            first.Expect("GBYE");
        }

        // The service has no cell now: its event waits in the queue (no deadline applies there, and it uses no attempt).
        await Eventually.That("the event waits in the service queue", () => transmitter.Stats.Queued == 1, cancellationToken: Ct);
        publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 2, ["confirm"] = true });
        Assert.AreEqual(0, publisher.Expect("ACPT", "the ACPT of an event nobody of the service catches").Payload.Value<int>("receivers"));
        using var next = new RawClient(transmitter.CommandEndpoint);
        next.Hello(service);
        next.SendJson("SUBS", subscribe);
        Assert.AreEqual("OKAY", next.ReceiveJson("OKAY").Command);
        var (delivery, body) = next.Expect("DLVR", "the waiting event");

        Assert.AreEqual(1, delivery.Value<int>("seq"), "only the event queued before; the later one was never queued");
        Assert.AreEqual(2, delivery.Value<int>("attempt"), "the first attempt ended with its cell's session");
        Assert.AreEqual("job", Encoding.UTF8.GetString(body!));
        Assert.AreEqual(0L, transmitter.Stats.Queued);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void AcknowledgedAnycatch_AFullCellIsRefilledOnceHalfItsPrefetchIsFree()
    {
        var channel = TestIds.Next("refill");
        using var worker = AcknowledgingWorker(sub: 1, channel, prefetch: 4);
        using var publisher = RawClient.Welcomed(_transmitter.CommandEndpoint, "publisher");
        for (var seq = 1; seq <= 6; seq++)
        {
            publisher.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = seq });
        }

        var tags = Enumerable.Range(0, 4).Select(i => worker.Expect("DLVR", $"delivery {i + 1} of the prefetch").Payload.Value<long>("tag")).ToList();

        // One ack of four: the cell is not refilled yet. The transmitter answers in order, so a delivery the ack had
        // caused would come before the BEAT.
        worker.SendJson("ACKN", new JObject { ["tag"] = tags[0] });
        worker.Send("J BEAT");
        Assert.AreEqual("BEAT", worker.ReceiveJson("BEAT, with no delivery before it").Command);

        // The second frees half the prefetch: both queued events come.
        worker.SendJson("ACKN", new JObject { ["tag"] = tags[1] });
        var refilled = new[] { worker.Expect("DLVR", "the first refill").Payload, worker.Expect("DLVR", "the second refill").Payload };
        CollectionAssert.AreEquivalent(new[] { 5L, 6L }, refilled.Select(d => d.Value<long>("seq")).ToArray());
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task Multicatch_ReachesEachCellOnceEvenWithOverlappingPatterns()
    {
        // A transmitter of its own: '>' would catch the events of every test sharing the assembly's.
        await using var transmitter = Transmitters.StartLoopback();
        var channel = TestIds.Next("overlap") + ".x";
        using var receiver = RawClient.Subscribed(transmitter.CommandEndpoint, "rx", channel);
        receiver.Subscribe(2, channel.Split('.')[0] + ".*");
        receiver.Subscribe(3, ">");
        using var sender = RawClient.Welcomed(transmitter.CommandEndpoint, "tx");

        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 1, ["confirm"] = true });

        Assert.IsGreaterThanOrEqualTo(1, sender.Expect("ACPT").Payload.Value<int>("receivers"));
        var (delivery, _) = receiver.Expect("DLVR");
        Assert.AreEqual(channel, delivery.Value<string>("channel"));
        receiver.Send("J BEAT");
        Assert.AreEqual("BEAT", receiver.ReceiveJson("BEAT after the single delivery").Command);
    }

    /// <summary>A raw cell that catches <paramref name="channel"/> in acknowledged anycatch, subscription confirmed.</summary>
    private static RawClient AcknowledgingWorker(int sub, string channel, int prefetch)
    {
        var worker = new RawClient(_transmitter.CommandEndpoint);
        worker.Hello(TestIds.Next("worker"));
        worker.SendJson("SUBS", new JObject { ["sub"] = sub, ["pattern"] = channel, ["mode"] = "any", ["ack"] = true, ["prefetch"] = prefetch });
        Assert.AreEqual("OKAY", worker.ReceiveJson("OKAY").Command);
        return worker;
    }
}
