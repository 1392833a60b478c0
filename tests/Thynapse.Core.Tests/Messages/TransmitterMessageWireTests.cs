namespace Thynapse.Core.Tests.Messages;

/// <summary>
/// Transmitter → cell messages write exactly the bytes the transmitter writes today (transmitter/ at f2ce6b5, each
/// builder copied below from the file named), read back as what they were, and refuse what a cell cannot use.
/// </summary>
[TestClass]
public sealed class TransmitterMessageWireTests
{
    [TestMethod]
    [DataRow(false, false, null, DisplayName = "a J cell, new session")]
    [DataRow(true, true, null, DisplayName = "a B cell with credit")]
    [DataRow(true, true, "live", DisplayName = "resumed a live session")]
    [DataRow(false, true, "departed", DisplayName = "resumed a departed session")]
    public void Welcome_WritesWhatTheTransmitterWrites(bool binary, bool credit, string? resumed)
    {
        // SessionLifecycle.cs Welcome(cell), then credit and resumed in HandleHelo, then Responder.CopyRef.
        var legacy = new JObject
        {
            ["id"] = Wire.TransmitterId.ToString(),
            ["pub"] = "tcp://10.0.0.5:4711",
            ["protocol"] = 1,
            ["session"] = "764062d5f2c980cd1becb531cdef1990",
            ["heartbeat"] = (long)TimeSpan.FromSeconds(1).TotalMilliseconds,
            ["liveness"] = (long)TimeSpan.FromSeconds(5).TotalMilliseconds,
            ["encodings"] = binary ? new JArray("J", "B") : new JArray("J"),
            ["limits"] = new JObject
            {
                ["frame"] = 1024 * 1024,
                ["header"] = 64 * 1024,
                ["subscriptions"] = 10_000,
                ["channel"] = Channel.MaxLength,
                ["metadata"] = 16 * 1024,
                ["queue"] = 100_000,
            },
            ["defaults"] = new JObject
            {
                ["prefetch"] = 64,
                ["ackTimeout"] = (long)TimeSpan.FromSeconds(30).TotalMilliseconds,
                ["maxAttempts"] = 5,
            },
            ["transmitters"] = new JArray(new JObject
            {
                ["id"] = Wire.TransmitterId.ToString(),
                ["command"] = "tcp://10.0.0.5:4710",
                ["pub"] = "tcp://10.0.0.5:4711",
            }),
        };
        if (credit)
        {
            legacy["credit"] = 65_536L;
        }

        if (resumed is not null)
        {
            var what = new JObject { ["missed"] = 12L };
            if (resumed == "departed")
            {
                what["away"] = 1500L;
                what["ended"] = "not_reading";
            }

            legacy["resumed"] = what;
        }

        legacy["ref"] = new JValue(1L);

        var message = new WelcomeMessage(Wire.TransmitterId, "tcp://10.0.0.5:4711", "764062d5f2c980cd1becb531cdef1990")
        {
            Encodings = binary ? ["J", "B"] : ["J"],
            Transmitters = [new TransmitterAddress(Wire.TransmitterId, "tcp://10.0.0.5:4710", "tcp://10.0.0.5:4711")],
            Credit = credit ? 65_536 : null,
            Resumed = resumed switch
            {
                null => null,
                "live" => new WelcomeResumed(12),
                _ => new WelcomeResumed(12) { Away = 1500, Ended = WelcomeResumed.NotReading },
            },
            Ref = new JValue(1L),
        };

        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(WelcomeMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Wire.AssertSameFrame(message, read);
        Assert.AreEqual(binary, read.SendsBinary);
        Assert.AreEqual(credit ? 65_536L : null, read.Credit);
        Assert.AreEqual(resumed is null ? null : 12L, read.Resumed?.Missed);
    }

    [TestMethod]
    public void Welcome_Read_TakesTheProtocolsDefaultsForWhatIsLeftOut()
    {
        var json = JObject.Parse($"{{\"id\":\"{Wire.TransmitterId}\",\"pub\":\"tcp://h:1\",\"session\":\"s\",\"heartbeat\":200,\"liveness\":800,\"limits\":{{\"frame\":4096}},\"future\":1}}");

        Assert.IsTrue(WelcomeMessage.TryRead(json, out var read, out var error), error);

        Assert.AreEqual(200L, read.Heartbeat);
        Assert.AreEqual(4096, read.Limits.Frame);
        Assert.AreEqual(ProtocolDefaults.MaxHeaderBytes, read.Limits.Header);
        Assert.AreEqual(ProtocolDefaults.AckTimeoutMs, read.Defaults.AckTimeout);
        Assert.AreEqual(ProtocolVersion.Current, read.Protocol);
        CollectionAssert.AreEqual(new[] { "J" }, read.Encodings.ToArray());
        Assert.IsEmpty(read.Transmitters);
        Assert.IsNull(read.Credit);
        Assert.IsNull(read.Resumed);
    }

    /// <summary>
    /// (command, payload, the problem) for what a cell cannot use; <c>ID</c> in a payload stands for a THID (the
    /// transmitter's in a <c>WLCM</c>, a cell's in a <c>DLVR</c>).
    /// </summary>
    public static IEnumerable<object[]> Refusals =>
    [
        ["WLCM", "{\"pub\":\"p\",\"session\":\"s\",\"heartbeat\":1,\"liveness\":2}", "field 'id' is required"],
        ["WLCM", "{\"id\":\"x\",\"pub\":\"p\",\"session\":\"s\",\"heartbeat\":1,\"liveness\":2}", "field 'id' must be a THID: 40 hexadecimal characters"],
        ["WLCM", "{\"id\":\"ID\",\"session\":\"s\",\"heartbeat\":1,\"liveness\":2}", "field 'pub' is required"],
        ["WLCM", "{\"id\":\"ID\",\"pub\":\"p\",\"session\":\"s\",\"heartbeat\":\"1\",\"liveness\":2}", "field 'heartbeat' must be a non-negative integer, not a string"],
        ["WLCM", "{\"id\":\"ID\",\"pub\":\"p\",\"session\":\"s\",\"heartbeat\":1,\"liveness\":2,\"limits\":{\"frame\":-1}}", "limits: field 'frame' must be a non-negative integer below 2^64, not a number"],
        ["WLCM", "{\"id\":\"ID\",\"pub\":\"p\",\"session\":\"s\",\"heartbeat\":1,\"liveness\":2,\"resumed\":{}}", "resumed: field 'missed' is required"],
        ["WLCM", "{\"id\":\"ID\",\"pub\":\"p\",\"session\":\"s\",\"heartbeat\":1,\"liveness\":2,\"transmitters\":[{\"id\":\"ID\",\"pub\":\"p\"}]}", "transmitters[0]: field 'command' is required"],
        ["WLCM", "{\"id\":\"ID\",\"pub\":\"p\",\"session\":\"s\",\"heartbeat\":1,\"liveness\":2,\"encodings\":[\"J\",2]}", "field 'encodings' must be an array of strings"],
        ["OKAY", "{}", "field 'command' is required"],
        ["OKAY", "{\"command\":\"NOPE\"}", "field 'command' must name a command, not \"NOPE\""],
        ["OKAY", "{\"command\":\"LIST\",\"cells\":[1]}", "cells[0] must be an object"],
        ["OKAY", "{\"command\":\"LIST\",\"cells\":[{\"service\":\"s\"}]}", "cells[0]: field 'id' is required"],
        ["DLVR", "{\"id\":\"ID\",\"origin\":\"ID\",\"seq\":1,\"mode\":\"multi\"}", "field 'channel' is required"],
        ["DLVR", "{\"channel\":\"a\",\"id\":\"ID\",\"origin\":\"nope\",\"seq\":1,\"mode\":\"multi\"}", "field 'origin' must be a THID: 40 hexadecimal characters"],
        ["DLVR", "{\"channel\":\"a\",\"id\":\"ID\",\"origin\":\"ID\",\"seq\":1,\"mode\":\"all\"}", "field 'mode' must be \"multi\" or \"any\""],
        ["DLVR", "{\"channel\":\"a\",\"id\":\"ID\",\"origin\":\"ID\",\"seq\":1,\"mode\":\"any\",\"sub\":1,\"attempt\":1}", "field 'tag' is required"],
        ["DLVR", "{\"channel\":\"a\",\"id\":\"ID\",\"origin\":\"ID\",\"seq\":1,\"mode\":\"multi\",\"deadLetter\":{\"channel\":\"c\"}}", "deadLetter: field 'service' is required"],
    ];

    [TestMethod]
    [DynamicData(nameof(Refusals))]
    public void Read_RefusesWhatACellCannotUse(string command, string payload, string expected)
    {
        var json = JObject.Parse(payload.Replace("ID", (command == "DLVR" ? Wire.CellId : Wire.TransmitterId).ToString(), StringComparison.Ordinal));
        string? error;
        var read = command switch
        {
            "WLCM" => WelcomeMessage.TryRead(json, out _, out error),
            "OKAY" => OkayMessage.TryRead(json, out _, out error),
            "DLVR" => DeliveryMessage.TryRead(json, out _, out error),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a refusal case"),
        };

        Assert.IsFalse(read);
        Assert.AreEqual(expected, error);
    }

    [TestMethod]
    public void Okay_WritesWhatTheTransmitterWritesForEachCommand()
    {
        // SubscriptionManager.cs HandleSubscribe/HandleUnsubscribe, CellDiscovery.cs HandleMeta/HandleList/HandleWatch/
        // HandleUnwatch, each through Responder.Reply, which copies the request's ref last.
        var reference = new JValue("mine-7");
        var cells = new JArray(LegacyDescribe(), LegacyDescribe());
        var described = new[] { Description(), Description() };

        AssertOkay(new JObject { ["command"] = "SUBS", ["sub"] = 1U, ["ref"] = reference }, new OkayMessage(Command.Subs) { Sub = 1, Ref = reference });
        AssertOkay(new JObject { ["command"] = "UNSB", ["sub"] = (uint?)uint.MaxValue }, new OkayMessage(Command.Unsb) { Sub = uint.MaxValue });
        AssertOkay(new JObject { ["command"] = "META", ["ref"] = new JValue(3L) }, new OkayMessage(Command.Meta) { Ref = new JValue(3L) });
        AssertOkay(new JObject { ["command"] = "LIST", ["cells"] = cells.DeepClone(), ["ref"] = new JValue(4L) }, new OkayMessage(Command.List) { Cells = described, Ref = new JValue(4L) });
        AssertOkay(new JObject { ["command"] = "LIST", ["cells"] = new JArray() }, new OkayMessage(Command.List) { Cells = [] });
        AssertOkay(new JObject { ["command"] = "WTCH", ["watch"] = (uint?)5U, ["cells"] = cells.DeepClone(), ["ref"] = new JValue(5L) }, new OkayMessage(Command.Wtch) { Watch = 5, Cells = described, Ref = new JValue(5L) });
        AssertOkay(new JObject { ["command"] = "UNWT", ["watch"] = (uint?)5U }, new OkayMessage(Command.Unwt) { Watch = 5 });
    }

    [TestMethod]
    public void Error_WritesWhatTheTransmitterWrites()
    {
        // Responder.cs Reject: code, name, message, command (when known), ref (copied), seq, then `extra` merged.
        var legacy = new JObject
        {
            ["code"] = (int)ThynapseErrorCode.InvalidPattern,
            ["name"] = ErrorCodeNames.Of(ThynapseErrorCode.InvalidPattern),
            ["message"] = "invalid pattern 'a.>.b': '>' may only be the last token of a pattern (token 2)",
            ["command"] = "SUBS",
            ["ref"] = new JValue("mine-7"),
        };
        var message = new ErrorMessage(ThynapseErrorCode.InvalidPattern, "invalid pattern 'a.>.b': '>' may only be the last token of a pattern (token 2)")
        {
            RefusedCommand = "SUBS",
            Ref = new JValue("mine-7"),
        };
        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(ErrorMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Wire.AssertSameFrame(message, read);

        // EventRouter.cs: an event's refusal names its seq (and never copies the ref, RejectEvent passes no request).
        var seq = new JObject { ["code"] = 300, ["name"] = "INVALID_CHANNEL", ["message"] = "invalid channel: token 2 of the channel is empty", ["command"] = "EVNT" };
        seq["seq"] = 9UL;
        Wire.AssertSameAs(seq, new ErrorMessage(ThynapseErrorCode.InvalidChannel, "invalid channel: token 2 of the channel is empty") { RefusedCommand = "EVNT", Seq = 9 });

        // EventRouter.cs RejectUnwelcomedEvents: a B EVNT frame without a session, with the range of seqs it carried.
        var unwelcomed = new JObject { ["code"] = 200, ["name"] = "NOT_WELCOMED", ["message"] = "send HELO first; 2 event(s) in this frame were not routed", ["command"] = "EVNT" };
        unwelcomed.Merge(new JObject { ["first"] = 1UL, ["last"] = 2UL, ["count"] = 2 });
        var range = new ErrorMessage(ThynapseErrorCode.NotWelcomed, "send HELO first; 2 event(s) in this frame were not routed") { RefusedCommand = "EVNT", First = 1, Last = 2, Count = 2 };
        Wire.AssertSameAs(unwelcomed, range);
        Assert.IsTrue(ErrorMessage.TryRead(Wire.Payload(range), out var readRange, out error), error);
        Assert.AreEqual(range, readRange);

        // A header refused before its command was known: no command field.
        Wire.AssertSameAs(
            new JObject { ["code"] = 101, ["name"] = "MALFORMED_HEADER", ["message"] = "a command is four upper-case ASCII letters" },
            new ErrorMessage(ThynapseErrorCode.MalformedHeader, "a command is four upper-case ASCII letters"));
    }

    [TestMethod]
    public void Error_Read_KeepsACodeItDoesNotKnowWithItsName()
    {
        Assert.IsTrue(ErrorMessage.TryRead(JObject.Parse("{\"code\":777,\"name\":\"FUTURE_THING\",\"message\":\"m\",\"extra\":1}"), out var read, out var error), error);

        Assert.AreEqual(777, (int)read.Code);
        Assert.AreEqual("FUTURE_THING", read.Name);
        Assert.IsFalse(ErrorMessage.TryRead(JObject.Parse("{\"name\":\"X\",\"message\":\"m\"}"), out _, out error));
        Assert.AreEqual("field 'code' is required", error);
    }

    [TestMethod]
    public void Accept_WritesWhatTheTransmitterWrites()
    {
        // CellOutput.cs Accept: new JObject { ["seq"] = sequence, ["receivers"] = receivers } (ulong, uint).
        var message = new AcceptMessage(ulong.MaxValue, 3);

        Wire.AssertSameAs(new JObject { ["seq"] = ulong.MaxValue, ["receivers"] = 3U }, message);
        Assert.IsTrue(AcceptMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Assert.AreEqual(message, read);
        Assert.IsFalse(AcceptMessage.TryRead(JObject.Parse("{\"seq\":1}"), out _, out error));
        Assert.AreEqual("field 'receivers' is required", error);
    }

    [TestMethod]
    public void Done_WritesWhatTheTransmitterWrites()
    {
        // CellOutput.cs Done: seq, receivers, outcome; a dead-lettered one adds service, channel, attempts, reason.
        var completed = new DoneMessage(7, 2, CompletionOutcome.Completed);
        var deadLettered = new DoneMessage(7, 2, CompletionOutcome.DeadLettered)
        {
            DeadLetter = new DeadLetterDetails("orders.created", "billing", 5, "no ack within 30000 ms"),
        };

        Wire.AssertSameAs(new JObject { ["seq"] = 7UL, ["receivers"] = 2U, ["outcome"] = "completed" }, completed);
        Wire.AssertSameAs(
            new JObject
            {
                ["seq"] = 7UL,
                ["receivers"] = 2U,
                ["outcome"] = "dead_lettered",
                ["service"] = "billing",
                ["channel"] = "orders.created",
                ["attempts"] = 5,
                ["reason"] = "no ack within 30000 ms",
            },
            deadLettered);
        Assert.IsTrue(DoneMessage.TryRead(Wire.Payload(completed), out var readCompleted, out var error), error);
        Assert.IsTrue(DoneMessage.TryRead(Wire.Payload(deadLettered), out var readDead, out error), error);
        Assert.AreEqual(completed, readCompleted);
        Assert.AreEqual(deadLettered, readDead);
        Assert.IsFalse(DoneMessage.TryRead(JObject.Parse("{\"seq\":7,\"receivers\":2,\"outcome\":\"dead_lettered\",\"service\":\"s\"}"), out _, out error));
        Assert.AreEqual("field 'channel' is required", error);
        Assert.IsFalse(DoneMessage.TryRead(JObject.Parse("{\"seq\":7,\"receivers\":2,\"outcome\":\"meh\"}"), out _, out error));
        Assert.AreEqual("field 'outcome' must be \"completed\" or \"dead_lettered\"", error);
    }

    [TestMethod]
    [DataRow(false, false, DisplayName = "multicatch")]
    [DataRow(true, false, DisplayName = "anycatch")]
    [DataRow(true, true, DisplayName = "a dead letter")]
    public void Delivery_WritesWhatTheTransmitterWrites(bool anycatch, bool deadLettered)
    {
        // CellOutput.cs Deliver (J): channel, id, origin, seq, mode; sub, tag, attempt for anycatch; the extension merged
        // last (a dead letter's, from PendingEvent.cs DeadLetter.Extension).
        var body = "hello"u8.ToArray();
        var origin = Wire.CellId;
        var deadLetter = deadLettered ? new DeadLetterDetails("orders.created", "billing", 5, "nacked: timeout talking to the database") : null;
        var channel = deadLettered ? DeadLetterDetails.ChannelFor("billing") : "orders.created";
        var id = Thid.ForEvent(origin, 7, Encoding.ASCII.GetBytes("orders.created"), body);
        var legacy = new JObject
        {
            ["channel"] = channel,
            ["id"] = id.ToString(),
            ["origin"] = origin.ToString(),
            ["seq"] = 7UL,
            ["mode"] = anycatch ? "any" : "multi",
        };
        if (anycatch)
        {
            legacy["sub"] = 1U;
            legacy["tag"] = 17UL;
            legacy["attempt"] = (ushort)5;
        }

        if (deadLettered)
        {
            legacy.Merge(JObject.Parse(LegacyDeadLetterExtension("orders.created", "billing", 5, "nacked: timeout talking to the database")));
        }

        var message = new DeliveryMessage(channel, DeliveryMessage.IdOf(origin, 7, Encoding.ASCII.GetBytes(channel), body, deadLetter), origin, 7, anycatch ? Catch.Any : Catch.Multi)
        {
            Sub = anycatch ? 1U : null,
            Tag = anycatch ? 17UL : null,
            Attempt = anycatch ? 5 : null,
            DeadLetter = deadLetter,
        };

        Assert.AreEqual(id, message.Id, "a dead letter keeps its event's THID, hashed over its original channel (§4.3, §5.5)");
        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(DeliveryMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Assert.AreEqual(message with { DeadLetter = null }, read with { DeadLetter = null });
        Assert.AreEqual(deadLetter, read.DeadLetter);
    }

    [TestMethod]
    [DataRow("orders.created", 7UL, 0U, 0UL, (ushort)0, null, DisplayName = "multicatch")]
    [DataRow("orders.created", ulong.MaxValue, uint.MaxValue, ulong.MaxValue, ushort.MaxValue, null, DisplayName = "anycatch, the largest numbers")]
    [DataRow("$DLQ.billing", 0UL, 1U, 1UL, (ushort)1, "nacked: \"timeout\" \\ caf\u00e9 \u2028 \u0001", DisplayName = "a dead letter, escapes in its reason")]
    [DataRow("a\"b.c\\d.~!", 3UL, 0U, 0UL, (ushort)0, null, DisplayName = "a channel with a quote and a backslash")]
    public void DeliveryHeader_WritesTheBytesOfTheMessage(string channel, ulong seq, uint sub, ulong tag, ushort attempt, string? reason)
    {
        var body = "hello"u8.ToArray();
        var deadLetter = reason is null ? null : new DeadLetterDetails("orders.created", "billing", 5, reason);
        var anycatch = new AnycatchFields(sub, tag, attempt);
        var id = DeliveryMessage.IdOf(Wire.CellId, seq, Encoding.ASCII.GetBytes(channel), body, deadLetter);
        var message = new DeliveryMessage(channel, id, Wire.CellId, seq, tag == 0 ? Catch.Multi : Catch.Any)
        {
            Sub = tag == 0 ? null : sub,
            Tag = tag == 0 ? null : tag,
            Attempt = tag == 0 ? null : attempt,
            DeadLetter = deadLetter,
        };
        var extension = deadLetter?.ToExtension() ?? [];
        var buffer = new byte[DeliveryHeader.MaxLength(channel.Length, extension.Length)];

        var length = DeliveryHeader.Write(buffer, Encoding.ASCII.GetBytes(channel), id, Wire.CellId, seq, anycatch, extension);

        Assert.AreEqual(Encoding.UTF8.GetString(message.ToFrame()), Encoding.UTF8.GetString(buffer, 0, length));
        CollectionAssert.AreEqual(message.ToFrame(), buffer[..length], "the same bytes");
    }

    [TestMethod]
    public void DeliveryHeader_AfterWarmUp_AllocatesNothing()
    {
        var channel = "orders.created"u8.ToArray();
        var extension = new DeadLetterDetails("orders.created", "billing", 5, "its cell went silent").ToExtension();
        var buffer = new byte[DeliveryHeader.MaxLength(channel.Length, extension.Length)];
        var anycatch = new AnycatchFields(1, 17, 2);
        DeliveryHeader.Write(buffer, channel, Wire.CellId, Wire.TransmitterId, 7, anycatch, extension);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = 0;
        for (var i = 0; i < 1000; i++)
        {
            total += DeliveryHeader.Write(buffer, channel, Wire.CellId, Wire.TransmitterId, (ulong)i, anycatch, i % 2 == 0 ? extension : default);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.AreEqual(0L, allocated, $"{allocated} bytes over 1,000 headers");
        Assert.IsGreaterThan(100_000, total);
    }

    [TestMethod]
    public void DeadLetter_ExtensionIsWhatTheTransmitterPutsInABinaryDelivery()
    {
        var details = new DeadLetterDetails("orders.created", "billing", 5, "its cell went silent");

        CollectionAssert.AreEqual(Encoding.UTF8.GetBytes(LegacyDeadLetterExtension("orders.created", "billing", 5, "its cell went silent")), details.ToExtension());
        Assert.IsTrue(DeadLetterDetails.TryReadExtension(JObject.Parse(Encoding.UTF8.GetString(details.ToExtension())), out var read, out var error), error);
        Assert.AreEqual(details, read);
        Assert.IsTrue(DeadLetterDetails.TryReadExtension(JObject.Parse("{\"other\":1}"), out var none, out error), error);
        Assert.IsNull(none, "an extension without deadLetter is not one");
    }

    [TestMethod]
    [DataRow(0L, DisplayName = "no replies")]
    [DataRow(3L, DisplayName = "with replies")]
    public void Slow_WritesWhatTheTransmitterWrites(long replies)
    {
        // CellOutput.cs ReportMissed: missed, total, and replies only when there were some.
        var legacy = new JObject { ["missed"] = 120L, ["total"] = 5000L };
        if (replies > 0)
        {
            legacy["replies"] = replies;
        }

        var message = new SlowMessage(120, 5000) { Replies = replies };

        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(SlowMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Assert.AreEqual(message, read);
    }

    [TestMethod]
    public void Credit_WritesWhatTheTransmitterWrites()
    {
        // CreditPacer.cs SendOwed: new JObject { ["credit"] = output.CreditOwed } (a long).
        var message = new CreditMessage(1_048_576);

        Wire.AssertSameAs(new JObject { ["credit"] = 1_048_576L }, message);
        Assert.IsTrue(CreditMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Assert.AreEqual(message, read);
        Assert.IsFalse(CreditMessage.TryRead(JObject.Parse("{\"credit\":\"lots\"}"), out _, out error));
        Assert.AreEqual("field 'credit' must be a non-negative integer, not a string", error);
    }

    [TestMethod]
    public void Transmitters_WritesTheWholeList_AndReadsItBack()
    {
        var a = new TransmitterAddress(Thid.Parse("0e971517075766d59313108d4922947dce30b2a7"), "tcp://10.0.0.5:4710", "tcp://10.0.0.5:4711");
        var b = new TransmitterAddress(Thid.Parse("7c50ad9a41be3c5f7b1f2d93f0a2a6c35e8f4b11"), "tcp://10.0.0.6:4710", "tcp://10.0.0.6:4711");
        var message = new TransmittersMessage([a, b]);

        Wire.AssertSameAs(JObject.Parse("""
            {"transmitters":[{"id":"0e971517075766d59313108d4922947dce30b2a7","command":"tcp://10.0.0.5:4710","pub":"tcp://10.0.0.5:4711"},
                             {"id":"7c50ad9a41be3c5f7b1f2d93f0a2a6c35e8f4b11","command":"tcp://10.0.0.6:4710","pub":"tcp://10.0.0.6:4711"}]}
            """), message);
        Assert.IsTrue(TransmittersMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        CollectionAssert.AreEqual(new[] { a, b }, read.Transmitters.ToArray());
        Assert.IsFalse(TransmittersMessage.TryRead(JObject.Parse("""{"transmitters":[{"id":"x"}]}"""), out _, out error));
        StringAssert.StartsWith(error, "transmitters[0]: ");
        Assert.IsFalse(TransmittersMessage.TryRead([], out _, out error), "transmitters is required");
    }

    [TestMethod]
    [DataRow(CellChange.Joined, "joined")]
    [DataRow(CellChange.Updated, "updated")]
    [DataRow(CellChange.Left, "left")]
    public void CellChange_WritesWhatTheTransmitterWrites(CellChange change, string name)
    {
        // CellDiscovery.cs Announce: watch, change, cell (CellFilter.cs Describe).
        var message = new CellChangeMessage(4, change, Description());

        Wire.AssertSameAs(new JObject { ["watch"] = 4U, ["change"] = name, ["cell"] = LegacyDescribe() }, message);
        Assert.IsTrue(CellChangeMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Wire.AssertSameFrame(message, read);
        Assert.AreEqual(change, read.Change);
        Assert.IsFalse(CellChangeMessage.TryRead(JObject.Parse("{\"watch\":4,\"change\":\"moved\",\"cell\":{}}"), out _, out error));
        Assert.AreEqual("field 'change' must be \"joined\", \"updated\" or \"left\"", error);
    }

    [TestMethod]
    [DataRow(null, DisplayName = "the answer to GBYE")]
    [DataRow("shutdown", DisplayName = "shutting down")]
    public void Goodbye_WritesWhatTheTransmitterWrites(string? reason)
    {
        // SessionLifecycle.cs HandleGoodbye: Reply(cell, Command.Gbye, []); Shutdown: { ["reason"] = "shutdown" }.
        var message = reason is null ? GoodbyeMessage.Instance : new GoodbyeMessage(GoodbyeMessage.Shutdown);

        Wire.AssertSameAs(reason is null ? [] : new JObject { ["reason"] = reason }, message);
        Assert.IsTrue(GoodbyeMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Assert.AreEqual(reason, read.Reason);
        Assert.IsTrue(HeartbeatMessage.TryRead(Wire.Payload(HeartbeatMessage.Instance), out _, out error), error);
    }

    private static void AssertOkay(JObject legacy, OkayMessage message)
    {
        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(OkayMessage.TryRead(Wire.Payload(message), out var read, out var error), error);
        Wire.AssertSameFrame(message, read);
    }

    private static CellDescription Description() =>
        new(Wire.CellId, "renderer", ["gpu", "fast"], Wire.Metadata(), Wire.TransmitterId);

    /// <summary>CellFilter.cs Describe.</summary>
    private static JObject LegacyDescribe() => new()
    {
        ["id"] = Wire.CellId.ToString(),
        ["service"] = "renderer",
        ["tags"] = new JArray(new[] { "gpu", "fast" }),
        ["metadata"] = Wire.Metadata().DeepClone(),
        ["transmitter"] = Wire.TransmitterId.ToString(),
    };

    /// <summary>PendingEvent.cs DeadLetter.Extension.</summary>
    private static string LegacyDeadLetterExtension(string channel, string service, int attempts, string reason) => new JObject
    {
        ["deadLetter"] = new JObject
        {
            ["channel"] = channel,
            ["service"] = service,
            ["attempts"] = attempts,
            ["reason"] = reason,
        },
    }.ToString(Newtonsoft.Json.Formatting.None);
}
