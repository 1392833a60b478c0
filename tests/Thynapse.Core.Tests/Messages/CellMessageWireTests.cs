namespace Thynapse.Core.Tests.Messages;

/// <summary>
/// Cell → transmitter messages write exactly the bytes the SDK writes today (cell-sdk/ at f2ce6b5, each builder
/// copied below from the file named) and read back as what they were.
/// </summary>
[TestClass]
public sealed class CellMessageWireTests
{
    private static readonly MessageLimits Limits = MessageLimits.Default;

    [TestMethod]
    [DataRow(null, DisplayName = "first join")]
    [DataRow("764062d5f2c980cd1becb531cdef1990", DisplayName = "re-join with resume")]
    public void Hello_WritesWhatTheSdkWrites(string? resume)
    {
        // Cell.Connection.cs SendHello, then SendRequest adds the ref; the subs entries are CellSubscription.ToWire.
        var metadata = Wire.Metadata();
        var legacy = new JObject
        {
            ["id"] = Wire.CellId.ToString(),
            ["service"] = "billing",
            ["protocol"] = 1,
            ["encodings"] = new JArray("B", "J"),
            ["metadata"] = metadata.DeepClone(),
            ["tags"] = new JArray(new[] { "gpu", "fast" }),
            ["subs"] = new JArray(
                LegacySubscription(1, "orders.*", Catch.Any, acknowledge: true, prefetch: 16, ackTimeout: TimeSpan.FromSeconds(5), maxAttempts: 3),
                LegacySubscription(2, "audit.>", Catch.Multi),
                LegacySubscription(3, "jobs", Catch.Any, acknowledge: true)),
            ["credit"] = true,
        };
        if (resume is not null)
        {
            legacy["resume"] = resume;
        }

        legacy["ref"] = 1L;

        var message = new HelloMessage(Wire.CellId, "billing")
        {
            Protocol = ProtocolVersion.Current,
            Encodings = ["B", "J"],
            Metadata = metadata,
            Tags = ["gpu", "fast"],
            Subscriptions =
            [
                new SubscribeMessage(1, ChannelPattern.Parse("orders.*"), Catch.Any) { Ack = true, Prefetch = 16, AckTimeout = 5000, MaxAttempts = 3 },
                new SubscribeMessage(2, ChannelPattern.Parse("audit.>"), Catch.Multi),
                new SubscribeMessage(3, ChannelPattern.Parse("jobs"), Catch.Any) { Ack = true },
            ],
            Credit = true,
            Resume = resume,
            Ref = new JValue(1L),
        };

        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(HelloMessage.TryRead(Wire.Payload(message), Limits, out var read, out var code, out var error), error);
        Assert.AreEqual(ThynapseErrorCode.None, code);
        Wire.AssertSameFrame(message, read);
        Assert.AreEqual(Wire.CellId, read.Id);
        Assert.IsTrue(read.AcceptsBinary);
        Assert.AreEqual(resume, read.Resume);
        Assert.HasCount(3, read.Subscriptions!);
        Assert.AreEqual(16U, read.Subscriptions![0].Prefetch);
    }

    [TestMethod]
    public void Hello_TheOriginalForm_ReadsWithDefaultsAndWritesBackAsIs()
    {
        // PROTOCOL.md §5.1: J HELO {"id": "<40 hex>", "service": "<name>"} is a complete, valid HELO.
        var json = JObject.Parse($"{{\"id\":\"{Wire.CellId.ToString().ToUpperInvariant()}\",\"service\":\"billing\"}}");

        Assert.IsTrue(HelloMessage.TryRead(json, Limits, out var read, out _, out var error), error);

        Assert.AreEqual(Wire.CellId, read.Id, "either case (§3.3)");
        Assert.IsNull(read.Protocol);
        Assert.IsNull(read.Encodings);
        Assert.IsFalse(read.AcceptsBinary);
        Assert.IsNull(read.Subscriptions);
        Assert.IsNull(read.Metadata);
        Assert.IsNull(read.Tags);
        Assert.IsFalse(read.Credit);
        Wire.AssertSameAs(new JObject { ["id"] = Wire.CellId.ToString(), ["service"] = "billing" }, read);
    }

    [TestMethod]
    public void Hello_Read_DropsDuplicateTagsAndIgnoresUnknownEncodingsAndFields()
    {
        var json = JObject.Parse($"{{\"id\":\"{Wire.CellId}\",\"service\":\"s\",\"tags\":[\"a\",\"b\",\"a\"],\"encodings\":[\"Z\",\"B\"],\"future\":{{\"x\":1}},\"subs\":[{{\"sub\":4,\"pattern\":\"a\",\"ref\":9}}]}}");

        Assert.IsTrue(HelloMessage.TryRead(json, Limits, out var read, out _, out var error), error);

        CollectionAssert.AreEqual(new[] { "a", "b" }, read.Tags!.ToArray());
        CollectionAssert.AreEqual(new[] { "Z", "B" }, read.Encodings!.ToArray());
        Assert.IsTrue(read.AcceptsBinary);
        Assert.AreEqual(Catch.Multi, read.Subscriptions![0].Mode, "mode defaults to multi");
        Assert.IsNull(read.Subscriptions![0].Ref, "a subs entry's ref is not read");
    }

    [TestMethod]
    [DataRow("{\"ref\":7}", "7")]
    [DataRow("{\"ref\":\"mine-7\"}", "\"mine-7\"")]
    [DataRow("{\"ref\":18446744073709551616}", "18446744073709551616")]
    [DataRow("{\"ref\":1.5}", "1.5")]
    [DataRow("{\"ref\":true}", null)]
    [DataRow("{\"ref\":{}}", null)]
    [DataRow("{\"ref\":null}", null)]
    public void Ref_IsReadWhenANumberOrAString(string payload, string? expected)
    {
        // Responder.CopyRef copies a ref that is a number (integer or not) or a string, and nothing else (PROTOCOL.md §5).
        var json = JObject.Parse("{\"sub\":1," + payload[1..]);

        Assert.IsTrue(UnsubscribeMessage.TryRead(json, Limits, out var read, out _, out var error), error);

        Assert.AreEqual(expected, read.Ref?.ToString(Newtonsoft.Json.Formatting.None));

        // And the answer carries it as Responder.CopyRef puts it: last, as it came.
        var legacy = new JObject { ["command"] = "UNSB", ["sub"] = 1U };
        if (json["ref"] is JValue { Type: JTokenType.Integer or JTokenType.Float or JTokenType.String } reference)
        {
            legacy["ref"] = reference;
        }

        Wire.AssertSameAs(legacy, new OkayMessage(Command.Unsb) { Sub = 1, Ref = read.Ref });
    }

    [TestMethod]
    [DataRow(true, DisplayName = "acknowledging anycatch with every setting")]
    [DataRow(false, DisplayName = "multicatch")]
    public void Subscribe_WritesWhatTheSdkWrites(bool acknowledging)
    {
        // Cell.Catch.cs subscribes with RequestAsync(Command.Subs, subscription.ToWire()), which adds the ref.
        var legacy = acknowledging
            ? LegacySubscription(9, "orders.*.created", Catch.Any, acknowledge: true, prefetch: 1, ackTimeout: TimeSpan.FromHours(1), maxAttempts: 1000)
            : LegacySubscription(uint.MaxValue, ">", Catch.Multi);
        legacy["ref"] = 12L;
        var message = acknowledging
            ? new SubscribeMessage(9, ChannelPattern.Parse("orders.*.created"), Catch.Any) { Ack = true, Prefetch = 1, AckTimeout = 3_600_000, MaxAttempts = 1000, Ref = new JValue(12L) }
            : new SubscribeMessage(uint.MaxValue, ChannelPattern.Parse(">"), Catch.Multi) { Ref = new JValue(12L) };

        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(SubscribeMessage.TryRead(Wire.Payload(message), Limits, out var read, out _, out var error), error);
        Wire.AssertSameFrame(message, read);
        Assert.AreEqual(message, read with { Pattern = message.Pattern, Ref = message.Ref });
    }

    [TestMethod]
    [DataRow(true, DisplayName = "as a request")]
    [DataRow(false, DisplayName = "sent directly")]
    public void Unsubscribe_WritesWhatTheSdkWrites(bool request)
    {
        // Cell.Catch.cs: RequestAsync(Command.Unsb, new JObject { ["sub"] = subscription.Id }) or Send(JsonPayload.Frame(...)).
        var legacy = new JObject { ["sub"] = 5U };
        if (request)
        {
            legacy["ref"] = 3L;
        }

        var message = new UnsubscribeMessage(5) { Ref = request ? new JValue(3L) : null };

        Wire.AssertSameAs(legacy, message);
        Assert.IsTrue(UnsubscribeMessage.TryRead(Wire.Payload(message), Limits, out var read, out _, out var error), error);
        Wire.AssertSameFrame(message, read);
    }

    [TestMethod]
    public void Event_WritesTheFieldsInTheOrderOfTheProtocol()
    {
        // The SDK publishes B EVNT only; J EVNT comes from other clients (tests/interop/thynapse_client.py publish():
        // channel, seq, confirm). The order is PROTOCOL.md §5.3's table.
        var target = JObject.Parse("{\"region\":\"eu\",\"$min\":\"load\"}");
        var legacy = new JObject
        {
            ["channel"] = "orders.created",
            ["seq"] = ulong.MaxValue,
            ["confirm"] = true,
            ["complete"] = true,
            ["target"] = target.DeepClone(),
            ["service"] = "billing",
            ["key"] = "customer-\u00e9",
            ["resend"] = true,
            ["ref"] = "r",
        };
        var message = new EventMessage("orders.created")
        {
            Seq = ulong.MaxValue,
            Confirm = true,
            Complete = true,
            Extension = new EventExtension(target, "billing"),
            Key = "customer-\u00e9",
            Resend = true,
            Ref = new JValue("r"),
        };

        Wire.AssertSameAs(legacy, message);
        Wire.AssertSameAs(new JObject { ["channel"] = "a", ["seq"] = 1, ["confirm"] = true }, new EventMessage("a") { Seq = 1, Confirm = true });
        Assert.IsTrue(EventMessage.TryRead(Wire.Payload(message), Limits, out var read, out var code, out var error), error);
        Assert.AreEqual(ThynapseErrorCode.None, code);
        Wire.AssertSameFrame(message, read);
        Assert.IsNotNull(read.Extension.Query, "the target is compiled");
        Assert.IsNotNull(read.Extension.Query.Selector);
        Assert.AreEqual(EventRecordFlags.Confirm | EventRecordFlags.Completion | EventRecordFlags.Resend, read.Flags);
    }

    [TestMethod]
    public void Event_TheOriginalForm_HasNoSeqAndNarrowsNothing()
    {
        Assert.IsTrue(EventMessage.TryRead(JObject.Parse("{\"channel\":\"orders.created\"}"), Limits, out var read, out _, out var error), error);

        Assert.AreEqual("orders.created", read.Channel);
        Assert.IsNull(read.Seq);
        Assert.IsFalse(read.HasInvalidSeq);
        Assert.IsTrue(read.Extension.IsEmpty);
        Assert.AreEqual(EventRecordFlags.None, read.Flags);
    }

    [TestMethod]
    [DataRow("{\"channel\":\"a..b\",\"seq\":3}", 3UL, false, DisplayName = "its own seq")]
    [DataRow("{\"channel\":\"a..b\"}", null, false, DisplayName = "no seq: the transmitter's")]
    [DataRow("{\"channel\":\"a\",\"seq\":-1}", null, true, DisplayName = "a bad seq: none")]
    [DataRow("{\"channel\":5,\"seq\":\"x\"}", null, true, DisplayName = "a bad seq behind another problem: none")]
    [DataRow("{\"channel\":5,\"seq\":4}", 4UL, false, DisplayName = "its seq behind another problem")]
    public void Event_Refused_KeepsWhatDecidesTheSeqOfTheError(string payload, ulong? seq, bool invalidSeq)
    {
        // EventRouter.HandleJsonEvent names `sequence ?? (fields.Has("seq") ? null : <the transmitter's>)`.
        Assert.IsFalse(EventMessage.TryRead(JObject.Parse(payload), Limits, out var read, out _, out _));

        Assert.AreEqual(seq, read.Seq);
        Assert.AreEqual(invalidSeq, read.HasInvalidSeq);
    }

    [TestMethod]
    public void EventExtension_WritesWhatTheSdkPutsInABinaryRecord()
    {
        // Cell.Publish.cs ExtrasFor: {"target": …, "service": …} as compact UTF-8 JSON.
        var target = JObject.Parse("{\"version\":{\"$gte\":\"2.0.0\"}}");
        var legacy = new JObject { ["target"] = target.DeepClone(), ["service"] = "renderer" };
        var extension = new EventExtension(target, "renderer");

        CollectionAssert.AreEqual(System.Text.Encoding.UTF8.GetBytes(legacy.ToString(Newtonsoft.Json.Formatting.None)), extension.ToUtf8());
        CollectionAssert.AreEqual("{\"service\":\"x\"}"u8.ToArray(), new EventExtension(null, "x").ToUtf8());
        Assert.IsTrue(EventExtension.TryRead(JObject.Parse(System.Text.Encoding.UTF8.GetString(extension.ToUtf8())), Limits, out var read, out _, out var error), error);
        Assert.AreEqual("renderer", read.Service);
        Assert.IsNotNull(read.Query);
    }

    [TestMethod]
    public void Acks_WriteTagThenTags()
    {
        // The SDK acknowledges with B ACKN; J ACKN and PROG take "tag", "tags" or both (PROTOCOL.md §5.12, §5.13a).
        var legacy = new JObject { ["tag"] = 17UL, ["tags"] = new JArray(18UL, ulong.MaxValue) };
        var ack = new AckMessage(17, [18, ulong.MaxValue]);
        var progress = new ProgressMessage(17, [18, ulong.MaxValue]);

        Wire.AssertSameAs(legacy, ack);
        Wire.AssertSameAs(legacy, progress);
        Assert.IsTrue(AckMessage.TryRead(Wire.Payload(ack), Limits, out var readAck, out _, out var error), error);
        Assert.IsTrue(ProgressMessage.TryRead(Wire.Payload(progress), Limits, out var readProgress, out _, out error), error);
        CollectionAssert.AreEqual(new[] { 17UL, 18UL, ulong.MaxValue }, readAck.All.ToArray());
        CollectionAssert.AreEqual(new[] { 17UL, 18UL, ulong.MaxValue }, readProgress.All.ToArray());
        Wire.AssertSameFrame(ack, readAck);
        Wire.AssertSameFrame(progress, readProgress);
    }

    [TestMethod]
    public void Progress_WritesWhatTheSdkWrites()
    {
        // Cell.Acks.cs InProgress: new JObject { ["tag"] = tag }.
        Wire.AssertSameAs(new JObject { ["tag"] = 42UL }, new ProgressMessage(42, null));
        Assert.IsTrue(ProgressMessage.TryRead(JObject.Parse("{\"tag\":0}"), Limits, out var zero, out _, out var error), error);
        Assert.AreEqual(0UL, zero.Tag, "tag 0 is read: it is unknown to the tracker, not invalid (UNKNOWN_DELIVERY)");
    }

    [TestMethod]
    public void Ack_TagsAbove2Pow63_AreReadAsTheProtocolSays()
    {
        // PROTOCOL.md §5.13a: a tags entry that is not a positive integer is INVALID_FIELD; 2^63 and 2^64-1 are positive
        // 64-bit tags. (The transmitter's own reading throws on them and answers INTERNAL_ERROR.)
        Assert.IsTrue(AckMessage.TryRead(JObject.Parse("{\"tags\":[9223372036854775808,18446744073709551615]}"), Limits, out var read, out _, out var error), error);
        CollectionAssert.AreEqual(new[] { 9223372036854775808UL, ulong.MaxValue }, read.All.ToArray());
        Assert.IsFalse(AckMessage.TryRead(JObject.Parse("{\"tags\":[18446744073709551616]}"), Limits, out _, out var code, out error));
        Assert.AreEqual(ThynapseErrorCode.InvalidField, code);
        Assert.AreEqual("field 'tags' must be an array of positive integers below 2^64", error);
    }

    [TestMethod]
    [DataRow("the handler failed", DisplayName = "a reason")]
    [DataRow(null, DisplayName = "no reason")]
    public void Nack_WritesWhatTheSdkWrites(string? reason)
    {
        // Cell.Acks.cs Refuse: new JObject { ["tag"] = tag, ["reason"] = reason ?? "refused" }; the SDK always sends one.
        Wire.AssertSameAs(new JObject { ["tag"] = 17UL, ["reason"] = reason ?? "refused" }, new NackMessage(17, reason ?? "refused"));
        var message = new NackMessage(17, reason);

        Assert.IsTrue(NackMessage.TryRead(Wire.Payload(message), Limits, out var read, out _, out var error), error);

        Assert.AreEqual(message, read);
        Assert.AreEqual(reason ?? "no reason given", read.ReasonOrDefault, "what deadLetter.reason says after 'nacked: ' (§5.5)");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void Metadata_WritesWhatTheSdkWrites(bool replace)
    {
        // Cell.Metadata.cs UpdateMetadataAsync and SetTagsAsync, with the ref RequestAsync adds.
        var change = JObject.Parse("{\"load\":0.4,\"gone\":null}");
        var legacy = new JObject { ["metadata"] = change.DeepClone(), ["mode"] = replace ? "replace" : "merge", ["ref"] = 4L };
        var message = new MetadataMessage { Metadata = change, Mode = replace ? MetadataMode.Replace : MetadataMode.Merge, Ref = new JValue(4L) };
        var tags = new MetadataMessage { Tags = ["gpu", "fast"], Ref = new JValue(5L) };

        Wire.AssertSameAs(legacy, message);
        Wire.AssertSameAs(new JObject { ["tags"] = new JArray(new[] { "gpu", "fast" }), ["ref"] = 5L }, tags);
        Assert.IsTrue(MetadataMessage.TryRead(Wire.Payload(message), Limits, out var read, out _, out var error), error);
        Wire.AssertSameFrame(message, read);
        Assert.IsTrue(MetadataMessage.TryRead(Wire.Payload(tags), Limits, out var readTags, out _, out error), error);
        Assert.IsNull(readTags.Mode, "an absent mode stays absent (it means merge)");
        Wire.AssertSameFrame(tags, readTags);
    }

    [TestMethod]
    public void Metadata_Apply_MergesShallowlyOrReplacesAndNeverEditsTheCurrentObject()
    {
        // The one shallow merge of PROTOCOL.md §5.15, used by the transmitter's META and the SDK's own copy of its metadata.
        var current = JObject.Parse("{\"region\":\"eu\",\"load\":0.1,\"zone\":{\"id\":\"a\"}}");
        var before = current.ToString();
        var change = JObject.Parse("{\"load\":0.4,\"region\":null,\"zone\":{\"rack\":2}}");

        var merged = new MetadataMessage { Metadata = change }.Apply(current);
        var replaced = new MetadataMessage { Metadata = change, Mode = MetadataMode.Replace }.Apply(current);
        var untouched = new MetadataMessage { Tags = ["x"] }.Apply(current);

        Assert.AreEqual("{\"load\":0.4,\"zone\":{\"rack\":2}}", merged.ToString(Newtonsoft.Json.Formatting.None));
        Assert.AreEqual(change.ToString(), replaced.ToString());
        Assert.AreNotSame(change, replaced);
        Assert.AreSame(current, untouched);
        Assert.AreEqual(before, current.ToString());
    }

    [TestMethod]
    public void Metadata_TryApply_RefusesWhatWouldNotFitWithTheTransmittersText()
    {
        // CellDiscovery.HandleMeta: the size of the metadata after the change, however small the change itself.
        var limits = new MessageLimits { MaxMetadataBytes = 28 };
        var current = JObject.Parse("{\"a\":\"0123456789\"}");

        Assert.IsTrue(new MetadataMessage { Metadata = JObject.Parse("{\"b\":1}") }.TryApply(current, limits, out var fits, out _, out _));
        Assert.IsFalse(new MetadataMessage { Metadata = JObject.Parse("{\"b\":\"01234\"}") }.TryApply(current, limits, out _, out var code, out var error));

        Assert.AreEqual("{\"a\":\"0123456789\",\"b\":1}", fits.ToString(Newtonsoft.Json.Formatting.None));
        Assert.AreEqual(ThynapseErrorCode.MetadataTooLarge, code);
        Assert.AreEqual("the metadata would take 30 bytes; the limit is 28", error);
    }

    [TestMethod]
    [DataRow(false, DisplayName = "LIST")]
    [DataRow(true, DisplayName = "WTCH")]
    public void Discovery_WritesWhatTheSdkWrites(bool watch)
    {
        // CellFilter.ToWire (service, tags when any, query); Cell.Metadata.cs StartWatch adds watch after them; the ref last.
        var query = JObject.Parse("{\"version\":{\"$gte\":\"2.0.0\"}}");
        var legacy = new JObject { ["service"] = "renderer", ["tags"] = new JArray(new[] { "gpu" }), ["query"] = query.DeepClone() };
        if (watch)
        {
            legacy["watch"] = 3U;
        }

        legacy["ref"] = 6L;
        var filter = new DiscoveryFilter { Service = "renderer", Tags = ["gpu"], Query = query };
        IJsonMessage message = watch ? new WatchMessage(3, filter) { Ref = new JValue(6L) } : new ListMessage(filter) { Ref = new JValue(6L) };

        Wire.AssertSameAs(legacy, message);
        Wire.AssertSameAs(new JObject(), new ListMessage(DiscoveryFilter.All));
        Wire.AssertSameAs(new JObject(), new ListMessage(new DiscoveryFilter { Tags = [] }));
        var payload = Wire.Payload(message);
        var (ok, _, error) = RefusalCases.Read(watch ? "WTCH" : "LIST", payload, Limits);
        Assert.IsTrue(ok, error);
        DiscoveryFilter read;
        if (watch)
        {
            Assert.IsTrue(WatchMessage.TryRead(payload, Limits, out var watchMessage, out _, out _));
            Assert.AreEqual(3U, watchMessage.Watch);
            read = watchMessage.Filter;
        }
        else
        {
            Assert.IsTrue(ListMessage.TryRead(payload, Limits, out var list, out _, out _));
            read = list.Filter;
        }

        Wire.AssertSameFrame(message, watch ? new WatchMessage(3, read) { Ref = new JValue(6L) } : new ListMessage(read) { Ref = new JValue(6L) });
        Assert.IsNotNull(read.CompiledQuery);
        Assert.AreEqual("renderer", read.Service);
        CollectionAssert.AreEqual(new[] { "gpu" }, read.Tags.ToArray());
    }

    [TestMethod]
    public void Unwatch_WritesWhatTheSdkWrites()
    {
        // Cell.Metadata.cs: RequestAsync(Command.Unwt, new JObject { ["watch"] = id }).
        var message = new UnwatchMessage(8) { Ref = new JValue(2L) };

        Wire.AssertSameAs(new JObject { ["watch"] = 8U, ["ref"] = 2L }, message);
        Assert.IsTrue(UnwatchMessage.TryRead(Wire.Payload(message), Limits, out var read, out _, out var error), error);
        Wire.AssertSameFrame(message, read);
    }

    [TestMethod]
    public void HeartbeatAndGoodbye_AreTheEmptyObject()
    {
        // Cell.Connection.cs: JsonPayload.Frame(Command.Beat, []) and JsonPayload.Frame(Command.Gbye, []).
        Wire.AssertSameAs(new JObject(), HeartbeatMessage.Instance);
        Wire.AssertSameAs(new JObject(), GoodbyeMessage.Instance);
        CollectionAssert.AreEqual("J BEAT {}"u8.ToArray(), HeartbeatMessage.Instance.ToFrame());
        CollectionAssert.AreEqual("J GBYE {}"u8.ToArray(), GoodbyeMessage.Instance.ToFrame());

        Assert.IsTrue(HeartbeatMessage.TryRead([], Limits, out var beat, out _, out _));
        Assert.IsTrue(GoodbyeMessage.TryRead(JObject.Parse("{\"ref\":9,\"reason\":5}"), Limits, out var goodbye, out _, out _));
        Assert.AreSame(HeartbeatMessage.Instance, beat);
        Assert.AreEqual(9L, (long)goodbye.Ref!, "kept for a refusal (NOT_WELCOMED); the transmitter reads no field of a cell's GBYE");
    }

    private static JObject LegacySubscription(uint id, string pattern, Catch mode, bool acknowledge = false, int? prefetch = null, TimeSpan? ackTimeout = null, int? maxAttempts = null)
    {
        // CellSubscription.cs ToWire.
        var wire = new JObject
        {
            ["sub"] = id,
            ["pattern"] = pattern,
            ["mode"] = mode == Catch.Any ? "any" : "multi",
        };
        if (acknowledge)
        {
            wire["ack"] = true;
            if (prefetch is { } p)
            {
                wire["prefetch"] = p;
            }

            if (ackTimeout is { } timeout)
            {
                wire["ackTimeout"] = (long)timeout.TotalMilliseconds;
            }

            if (maxAttempts is { } attempts)
            {
                wire["maxAttempts"] = attempts;
            }
        }

        return wire;
    }
}
