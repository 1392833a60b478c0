namespace Thynapse.Transmitter.Tests;

/// <summary>
/// Every malformed, oversized, out-of-order or hostile command gets its specific ERRR (PROTOCOL.md §7), the
/// sender's connection stays usable, and other cells keep being served.
/// </summary>
[TestClass]
public sealed class BadInputTests : TestBase
{
    private const int MaxFrame = 4096;
    private const int MaxHeader = 1024;
    private static Transmitter _transmitter = null!;

    [ClassInitialize]
    public static void Start(TestContext _) => _transmitter = Transmitters.StartLoopback(o => o with
    {
        MaxFrameBytes = MaxFrame,
        MaxHeaderBytes = MaxHeader,
        MaxSubscriptionsPerCell = 3,
        MaxMetadataBytes = 512,
    });

    [ClassCleanup]
    public static async Task Stop() => await _transmitter.DisposeAsync();

    public static IEnumerable<object[]> BeforeHelo =>
    [
        [ThynapseErrorCode.FrameTooLarge, new[] { "J HELO " + new string(' ', MaxFrame) }],
        [ThynapseErrorCode.MalformedHeader, new[] { "J HEL" }],
        [ThynapseErrorCode.MalformedHeader, new[] { "JHELO {}" }],
        [ThynapseErrorCode.MalformedHeader, new[] { "J HELO{}" }],
        [ThynapseErrorCode.MalformedHeader, new[] { "J helo {}" }],
        [ThynapseErrorCode.MalformedHeader, new[] { "" }],
        [ThynapseErrorCode.UnknownEncoding, new[] { "X HELO {}" }],
        [ThynapseErrorCode.UnknownEncoding, new[] { "\u0001 HELO {}" }],
        [ThynapseErrorCode.UnknownCommand, new[] { "J ABCD {}" }],
        [ThynapseErrorCode.UnknownCommand, new[] { "J WLCM {}" }],
        [ThynapseErrorCode.UnknownCommand, new[] { "J DLVR {}" }],
        [ThynapseErrorCode.UnknownCommand, new[] { "B HELO xyz" }],
        [ThynapseErrorCode.InvalidJson, new[] { "J HELO {" }],
        [ThynapseErrorCode.InvalidJson, new[] { "J HELO [1,2]" }],
        [ThynapseErrorCode.InvalidJson, new[] { "J HELO {\"id\":1,\"id\":2}" }],
        [ThynapseErrorCode.InvalidJson, new[] { "J HELO {} trailing" }],
        [ThynapseErrorCode.InvalidField, new[] { "J HELO {}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J HELO {\"id\":42,\"service\":\"s\"}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J HELO {\"id\":\"not-a-thid\",\"service\":\"s\"}" }],
        [ThynapseErrorCode.InvalidField, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"bad service\"}}" }],
        [ThynapseErrorCode.InvalidField, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":[\"s\"]}}" }],
        [ThynapseErrorCode.InvalidField, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"s\",\"encodings\":\"B\"}}" }],
        [ThynapseErrorCode.UnexpectedFrames, new[] { "J HELO {}", "x", "y" }],
        [ThynapseErrorCode.UnexpectedFrames, new[] { "J BEAT", "x" }],
        [ThynapseErrorCode.HeaderTooLarge, new[] { $"J HELO {{\"pad\":\"{new string('x', MaxHeader)}\"}}" }],
        [ThynapseErrorCode.UnsupportedProtocol, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"s\",\"protocol\":2}}" }],
        // Checked first: a version-2 HELO whose other fields version 1 would refuse still learns the real reason.
        [ThynapseErrorCode.UnsupportedProtocol, new[] { "J HELO {\"protocol\":2,\"id\":42,\"encodings\":\"B\"}" }],
        [ThynapseErrorCode.InvalidPattern, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a.>.b\"}}]}}" }],
        [ThynapseErrorCode.DuplicateSubscription, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a\"}},{{\"sub\":1,\"pattern\":\"b\"}}]}}" }],
        [ThynapseErrorCode.TooManySubscriptions, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a\"}},{{\"sub\":2,\"pattern\":\"b\"}},{{\"sub\":3,\"pattern\":\"c\"}},{{\"sub\":4,\"pattern\":\"d\"}}]}}" }],
        [ThynapseErrorCode.NotWelcomed, new[] { "J BEAT" }],
        [ThynapseErrorCode.NotWelcomed, new[] { "J EVNT {\"channel\":\"a\"}" }],
        [ThynapseErrorCode.NotWelcomed, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a\"}" }],
        [ThynapseErrorCode.NotWelcomed, new[] { "J GBYE" }],
        [ThynapseErrorCode.NotWelcomed, new[] { "B EVNT xyz" }],
        [ThynapseErrorCode.NotWelcomed, new[] { "J ACKN {\"tag\":1}" }],
    ];

    public static IEnumerable<object[]> AfterHelo =>
    [
        [ThynapseErrorCode.FrameTooLarge, new[] { "J EVNT {\"channel\":\"a\"}", new string('b', MaxFrame + 1) }],
        [ThynapseErrorCode.AlreadyWelcomed, new[] { $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"s\"}}" }],
        [ThynapseErrorCode.UnexpectedFrames, new[] { "J EVNT {\"channel\":\"a\"}", "body", "junk" }],
        [ThynapseErrorCode.UnexpectedFrames, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a\"}", "junk" }],
        [ThynapseErrorCode.InvalidField, new[] { "J EVNT {}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J EVNT {\"channel\":5}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J EVNT {\"channel\":\"a\",\"seq\":-1}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J EVNT {\"channel\":\"a\",\"confirm\":\"yes\"}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J SUBS {\"sub\":\"one\",\"pattern\":\"a\"}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J SUBS {\"sub\":1}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J UNSB {}" }],
        [ThynapseErrorCode.InvalidChannel, new[] { "J EVNT {\"channel\":\"a..b\"}" }],
        [ThynapseErrorCode.InvalidChannel, new[] { "J EVNT {\"channel\":\"a.*\"}" }],
        [ThynapseErrorCode.InvalidChannel, new[] { "J EVNT {\"channel\":\"caf\u00e9\"}" }],
        [ThynapseErrorCode.InvalidChannel, new[] { $"J EVNT {{\"channel\":\"{new string('a', 256)}\"}}" }],
        [ThynapseErrorCode.ReservedChannel, new[] { "J EVNT {\"channel\":\"$DLQ.billing\"}" }],
        [ThynapseErrorCode.InvalidPattern, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a.>.b\"}" }],
        [ThynapseErrorCode.InvalidPattern, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a*\"}" }],
        [ThynapseErrorCode.InvalidMode, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a\",\"mode\":\"all\"}" }],
        [ThynapseErrorCode.UnknownSubscription, new[] { "J UNSB {\"sub\":99}" }],
        [ThynapseErrorCode.MalformedRecord, new[] { "B EVNT " }],
        [ThynapseErrorCode.MalformedRecord, new[] { "B EVNT \u0000\u0001\u0000" }],
        [ThynapseErrorCode.UnknownCommand, new[] { "B SUBS \u0000" }],
        [ThynapseErrorCode.InvalidField, new[] { "J ACKN {}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J ACKN {\"tags\":[\"x\"]}" }],
        [ThynapseErrorCode.UnknownDelivery, new[] { "J ACKN {\"tag\":987654321}" }],
        // Past 2^63 Json.NET holds an integer as a BigInteger: still a tag (never given), not a crash of the reader.
        [ThynapseErrorCode.UnknownDelivery, new[] { "J ACKN {\"tags\":[9223372036854775808]}" }],
        [ThynapseErrorCode.UnknownDelivery, new[] { "J PROG {\"tags\":[18446744073709551615]}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J ACKN {\"tags\":[18446744073709551616]}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J PROG {\"tags\":[0]}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J NACK {}" }],
        [ThynapseErrorCode.UnknownDelivery, new[] { "J NACK {\"tag\":987654321,\"reason\":\"x\"}" }],
        [ThynapseErrorCode.MalformedRecord, new[] { "B ACKN \u0001\u0002" }],
        [ThynapseErrorCode.InvalidField, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a\",\"ack\":true}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"prefetch\":0}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"ackTimeout\":5}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J SUBS {\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"maxAttempts\":0}" }],
        [ThynapseErrorCode.InvalidQuery, new[] { "J EVNT {\"channel\":\"a\",\"target\":{\"load\":{\"$foo\":1}}}" }],
        [ThynapseErrorCode.InvalidQuery, new[] { "J EVNT {\"channel\":\"a\",\"target\":{\"tags\":{\"$in\":5}}}" }],
        [ThynapseErrorCode.InvalidQuery, new[] { "J EVNT {\"channel\":\"a\",\"target\":[1]}" }],
        [ThynapseErrorCode.QueryTooDeep, new[] { "J EVNT {\"channel\":\"a\",\"target\":" + string.Concat(Enumerable.Repeat("{\"$not\":", 20)) + "{}" + new string('}', 20) + "}" }],
        [ThynapseErrorCode.QueryTooLarge, new[] { "J EVNT {\"channel\":\"a\",\"target\":{\"x\":{\"$in\":[" + string.Join(",", Enumerable.Range(0, 200)) + "]}}}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J EVNT {\"channel\":\"a\",\"service\":\"bad name\"}" }],
        [ThynapseErrorCode.InvalidQuery, new[] { "J LIST {\"query\":{\"$or\":[]}}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J LIST {\"tags\":\"gpu\"}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J META {\"metadata\":[1]}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J META {\"mode\":\"upsert\"}" }],
        [ThynapseErrorCode.MetadataTooLarge, new[] { "J META {\"metadata\":{\"blob\":\"" + new string('x', 600) + "\"}}" }],
        [ThynapseErrorCode.UnknownWatch, new[] { "J UNWT {\"watch\":5}" }],
        [ThynapseErrorCode.InvalidField, new[] { "J WTCH {}" }],
    ];

    [TestMethod]
    [DynamicData(nameof(BeforeHelo))]
    [Timeout(15_000)]
    public void BeforeHelo_EachBadCommandGetsItsCode(ThynapseErrorCode code, string[] frames)
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);
        client.Send(frames.Select(Encoding.UTF8.GetBytes).ToArray());

        var error = client.ExpectError(code);

        Assert.AreEqual(ErrorCodeNames.Of(code), error.Value<string>("name"));
        Assert.IsFalse(string.IsNullOrWhiteSpace(error.Value<string>("message")));
        client.Hello(TestIds.Next("after")); // throws unless WLCM: the connection is still usable
        AssertOthersStillServed();
    }

    [TestMethod]
    [DynamicData(nameof(AfterHelo))]
    [Timeout(15_000)]
    public void AfterHelo_EachBadCommandGetsItsCode(ThynapseErrorCode code, string[] frames)
    {
        using var client = RawClient.Welcomed(_transmitter.CommandEndpoint, "bad");
        client.Send(frames.Select(Encoding.UTF8.GetBytes).ToArray());

        client.ExpectError(code);

        client.Send("J BEAT");
        Assert.AreEqual("BEAT", client.ReceiveJson("BEAT: the session survives").Command);
        AssertOthersStillServed();
    }

    [TestMethod]
    [DataRow("X HELO {}", ThynapseErrorCode.UnknownEncoding, "HELO")]
    [DataRow("\u0001 BEAT", ThynapseErrorCode.UnknownEncoding, "BEAT")]
    [DataRow("J ABCD {}", ThynapseErrorCode.UnknownCommand, "ABCD")]
    [DataRow("J WLCM {}", ThynapseErrorCode.UnknownCommand, "WLCM")]
    [DataRow("B HELO xyz", ThynapseErrorCode.UnknownCommand, "HELO")]
    [DataRow("J HELO{}", ThynapseErrorCode.MalformedHeader, "HELO")]
    [DataRow("J helo {}", ThynapseErrorCode.MalformedHeader, null)]
    [DataRow("JHELO {}", ThynapseErrorCode.MalformedHeader, null)]
    [DataRow("J HEL", ThynapseErrorCode.MalformedHeader, null)]
    [Timeout(15_000)]
    public void Errr_NamesTheCommandWheneverBytesTwoToFiveAreFourLetters(string header, ThynapseErrorCode code, string? command)
    {
        using var client = new RawClient(_transmitter.CommandEndpoint);
        client.Send(header);

        var error = client.ExpectError(code);

        Assert.AreEqual(command, error.Value<string>("command"), $"ERRR.command for '{header}' (PROTOCOL.md §5.11)");
        Assert.IsNull(error["ref"], "ref is never read from a header refused before its payload");
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Errr_ForAnOversizedFrame_NamesItsCommand()
    {
        using var client = RawClient.Welcomed(_transmitter.CommandEndpoint, "big");
        client.Send(Encoding.UTF8.GetBytes("J EVNT {\"channel\":\"a\",\"ref\":1}"), new byte[MaxFrame + 1]);

        var error = client.ExpectError(ThynapseErrorCode.FrameTooLarge);

        Assert.AreEqual("EVNT", error.Value<string>("command"));
        Assert.IsNull(error["ref"]);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Errors_EchoRefAndSeq()
    {
        using var client = RawClient.Welcomed(_transmitter.CommandEndpoint, "echo");

        client.SendJson("SUBS", new JObject { ["sub"] = 1, ["pattern"] = "a.>.b", ["ref"] = "mine-7" });
        Assert.AreEqual("mine-7", client.ExpectError(ThynapseErrorCode.InvalidPattern).Value<string>("ref"));
        client.SendJson("EVNT", new JObject { ["channel"] = "a..b", ["seq"] = 12 });
        var error = client.ExpectError(ThynapseErrorCode.InvalidChannel);
        Assert.AreEqual(12, error.Value<int>("seq"));
        Assert.AreEqual("EVNT", error.Value<string>("command"));
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Helo_WithTheIdOfALiveCellIsRefused()
    {
        using var owner = RawClient.Welcomed(_transmitter.CommandEndpoint, "owner");
        using var spoofer = new RawClient(_transmitter.CommandEndpoint);

        spoofer.SendJson("HELO", new JObject { ["id"] = owner.Id.ToString(), ["service"] = "spoof", ["resume"] = "guessed" });

        spoofer.ExpectError(ThynapseErrorCode.IdInUse);
        owner.Send("J BEAT");
        Assert.AreEqual("BEAT", owner.ReceiveJson("the owner's session is intact").Command);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Subs_PastTheLimitAndDuplicatesAreRefused()
    {
        using var client = RawClient.Subscribed(_transmitter.CommandEndpoint, "limits", "a");
        client.Subscribe(2, "b");

        client.SendJson("SUBS", new JObject { ["sub"] = 2, ["pattern"] = "c" });
        client.ExpectError(ThynapseErrorCode.DuplicateSubscription);
        client.Subscribe(3, "c");
        client.SendJson("SUBS", new JObject { ["sub"] = 4, ["pattern"] = "d" });
        client.ExpectError(ThynapseErrorCode.TooManySubscriptions);
    }

    [TestMethod]
    [Timeout(15_000)]
    public void BinaryFrame_ABadRecordIsRefusedAndTheNextOneStillRouted()
    {
        var channel = TestIds.Next("binbad");
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "rx", channel);
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx");

        var frame = new FrameBatch(Command.Evnt);
        EventRecordWriter.Write(frame, false, 1, "a..b", default, default, "bad"u8);
        EventRecordWriter.Write(frame, false, 2, "$x", default, default, "reserved"u8);
        EventRecordWriter.Write(frame, false, 3, channel, default, default, "good"u8);
        sender.Send(frame.Frame.ToArray());

        Assert.AreEqual(1, sender.ExpectError(ThynapseErrorCode.InvalidChannel).Value<int>("seq"));
        Assert.AreEqual(2, sender.ExpectError(ThynapseErrorCode.ReservedChannel).Value<int>("seq"));
        var (delivery, body) = receiver.Expect("DLVR");
        Assert.AreEqual(3, delivery.Value<int>("seq"));
        Assert.AreEqual("good", Encoding.UTF8.GetString(body!));
    }

    [TestMethod]
    [Timeout(15_000)]
    public void Key_OverTheLimit_IsAnInvalidFieldInJAndInB()
    {
        // This class's transmitter takes J headers of 1 KiB only: a 1,025-byte key needs the default 64 KiB.
        var transmitter = SharedTransmitter.Instance;
        var channel = TestIds.Next("keys");
        using var receiver = RawClient.Subscribed(transmitter.CommandEndpoint, "rx", channel, "any");
        using var sender = RawClient.Welcomed(transmitter.CommandEndpoint, "tx");
        var tooLong = new string('k', 1025);

        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 3, ["key"] = tooLong });
        var json = sender.ExpectError(ThynapseErrorCode.InvalidField);
        var frame = new FrameBatch(Command.Evnt);
        EventRecordWriter.Write(frame, false, 4, channel, Encoding.UTF8.GetBytes(tooLong), default, "too long"u8);
        EventRecordWriter.Write(frame, false, 5, channel, "k"u8, default, "fine"u8);
        sender.Send(frame.Frame.ToArray());
        var binary = sender.ExpectError(ThynapseErrorCode.InvalidField);

        Assert.AreEqual(3, json.Value<int>("seq"));
        Assert.Contains("key", json.Value<string>("message")!);
        Assert.AreEqual(4, binary.Value<int>("seq"), "the B record's seq (PROTOCOL.md §6.1)");
        Assert.Contains("key", binary.Value<string>("message")!);
        Assert.AreEqual(5, receiver.Expect("DLVR", "the next record, routed").Payload.Value<int>("seq"));
    }

    [TestMethod]
    [Timeout(15_000)]
    public void BinaryFrame_ATruncatedRecordDropsOnlyTheRestOfTheFrame()
    {
        var channel = TestIds.Next("bintrunc");
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "rx", channel);
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "tx");

        var frame = new FrameBatch(Command.Evnt);
        EventRecordWriter.Write(frame, false, 1, channel, default, default, "first"u8);
        EventRecordWriter.Write(frame, false, 2, channel, default, default, "second"u8);
        sender.Send(frame.Frame[..^3].ToArray());

        Assert.Contains("truncated", sender.ExpectError(ThynapseErrorCode.MalformedRecord).Value<string>("message")!);
        Assert.AreEqual(1, receiver.Expect("DLVR").Payload.Value<int>("seq"));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task FrameFarPastTheLimit_ClosesOnlyThatConnection()
    {
        var hugeService = TestIds.Next("huge");
        var bystanderService = TestIds.Next("bystander");
        using var client = new RawClient(_transmitter.CommandEndpoint);
        client.Hello(hugeService);
        using var bystander = new RawClient(_transmitter.CommandEndpoint);
        bystander.Hello(bystanderService);
        Assert.HasCount(1, CellsOf(bystander, hugeService), "the oversized sender has a session before its frame");

        // Past twice the limit the transport refuses to buffer the frame and drops the connection instead.
        client.Send(Encoding.UTF8.GetBytes("J EVNT {\"channel\":\"a\"}"), new byte[(3 * MaxFrame) + 65_536]);

        // Its own session, not just some session (every earlier row of this class closes connections too).
        await Eventually.That("the oversized sender's own session is dropped", () => CellsOf(bystander, hugeService).Count == 0, cancellationToken: Ct);
        Assert.HasCount(1, CellsOf(bystander, bystanderService), "a cell connected all along keeps its session");
        bystander.Send("J BEAT");
        Assert.AreEqual("BEAT", bystander.ReceiveJson("the bystander's BEAT answer").Command);
        AssertOthersStillServed();
    }

    /// <summary>The cells of <paramref name="service"/>, as <c>LIST</c> (PROTOCOL.md §5.16) tells <paramref name="asker"/>.</summary>
    private static JArray CellsOf(RawClient asker, string service)
    {
        asker.SendJson("LIST", new JObject { ["service"] = service });
        var (command, payload, _) = asker.ReceiveJson("OKAY for LIST");
        Assert.AreEqual("OKAY", command, payload.ToString());
        return (JArray)payload["cells"]!;
    }

    /// <summary>A witness pair: a confirmed event from one fresh cell reaches another.</summary>
    private static void AssertOthersStillServed()
    {
        var channel = TestIds.Next("witness");
        using var receiver = RawClient.Subscribed(_transmitter.CommandEndpoint, "wrx", channel);
        using var sender = RawClient.Welcomed(_transmitter.CommandEndpoint, "wtx");
        sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = 1, ["confirm"] = true }, "w"u8.ToArray());
        Assert.AreEqual(1, sender.Expect("ACPT", "the witness's ACPT").Payload.Value<int>("receivers"));
        Assert.AreEqual(channel, receiver.Expect("DLVR", "the witness's DLVR").Payload.Value<string>("channel"));
    }
}
