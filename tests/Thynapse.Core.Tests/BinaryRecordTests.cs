using System.Buffers;

namespace Thynapse.Core.Tests;

[TestClass]
public sealed class BinaryRecordTests
{
    [TestMethod]
    public void EventRecords_RoundTrip()
    {
        var writer = new ArrayBufferWriter<byte>();
        EventRecordWriter.Write(writer, confirm: false, 1, "a.b", default, default, "one"u8);
        EventRecordWriter.Write(writer, confirm: true, 2, "a.c", "key"u8, "{\"x\":1}"u8, new byte[1000]);
        EventRecordWriter.Write(writer, confirm: false, 3, "z", default, default, default);

        var reader = new EventRecordReader(writer.WrittenSpan);
        Assert.IsTrue(reader.TryRead(out var first, out _));
        Assert.IsFalse(first.Confirm);
        Assert.AreEqual(1UL, first.Sequence);
        Assert.AreEqual("a.b", Encoding.ASCII.GetString(first.Channel));
        Assert.AreEqual("one", Encoding.ASCII.GetString(first.Body));
        Assert.IsTrue(first.Key.IsEmpty);

        Assert.IsTrue(reader.TryRead(out var second, out _));
        Assert.IsTrue(second.Confirm);
        Assert.AreEqual("key", Encoding.ASCII.GetString(second.Key));
        Assert.AreEqual("{\"x\":1}", Encoding.ASCII.GetString(second.Extension));
        Assert.AreEqual(1000, second.Body.Length);

        Assert.IsTrue(reader.TryRead(out var third, out _));
        Assert.AreEqual(0, third.Body.Length);
        Assert.IsFalse(reader.TryRead(out _, out var error));
        Assert.IsNull(error);
        Assert.IsTrue(reader.End);
    }

    [TestMethod]
    public void EventRecords_SizeOfMatchesWhatIsWritten()
    {
        var writer = new ArrayBufferWriter<byte>();
        EventRecordWriter.Write(writer, true, 9, "a.b.c", "k"u8, "{}"u8, new byte[77]);
        Assert.AreEqual(EventRecordWriter.SizeOf(5, 1, 2, 77), writer.WrittenCount);
    }

    [TestMethod]
    public void EventRecords_EveryTruncationIsReportedNotThrown()
    {
        var writer = new ArrayBufferWriter<byte>();
        EventRecordWriter.Write(writer, true, 7, "orders.created", "key"u8, "{}"u8, "body"u8);
        var whole = writer.WrittenSpan.ToArray();
        for (var length = 1; length < whole.Length; length++)
        {
            var reader = new EventRecordReader(whole.AsSpan(0, length));
            Assert.IsFalse(reader.TryRead(out _, out var error), $"length {length}");
            Assert.IsNotNull(error, $"length {length}");
        }
    }

    [TestMethod]
    public void EventRecords_UnknownFlagsAreReported()
    {
        var writer = new ArrayBufferWriter<byte>();
        EventRecordWriter.Write(writer, false, 1, "a", default, default, "x"u8);
        var bytes = writer.WrittenSpan.ToArray();
        bytes[0] = 0x80;

        var reader = new EventRecordReader(bytes);
        Assert.IsFalse(reader.TryRead(out _, out var error));
        Assert.Contains("flags", error ?? "");
    }

    [TestMethod]
    public void DeliveryRecords_RoundTripWithBodyOffsets()
    {
        var origin = Thid.NewRandom();
        var writer = new ArrayBufferWriter<byte>();
        DeliveryRecordWriter.Write(writer, origin.ToByteArray(), 5, "a.b"u8, AnycatchFields.Multicatch, default, "first"u8);
        DeliveryRecordWriter.Write(writer, origin.ToByteArray(), 6, "a.c"u8, new AnycatchFields(3, 99, 2), default, "second"u8);
        var payload = writer.WrittenSpan.ToArray();

        var reader = new DeliveryRecordReader(payload);
        Assert.IsTrue(reader.TryRead(out var first, out _));
        Assert.IsFalse(first.IsAnycatch);
        Assert.AreEqual(origin, first.Origin);
        Assert.AreEqual(5UL, first.Sequence);
        Assert.AreEqual("first", Encoding.ASCII.GetString(payload, first.BodyOffset, first.Body.Length));

        Assert.IsTrue(reader.TryRead(out var second, out _));
        Assert.IsTrue(second.IsAnycatch);
        Assert.AreEqual(3U, second.Subscription);
        Assert.AreEqual(99UL, second.Tag);
        Assert.AreEqual((ushort)2, second.Attempt);
        Assert.AreEqual("a.c", Encoding.ASCII.GetString(second.Channel));
        Assert.AreEqual("second", Encoding.ASCII.GetString(payload, second.BodyOffset, second.Body.Length));
        Assert.IsTrue(reader.End);
    }

    [TestMethod]
    public void EventRecords_LeaveARepeatedChannelOut()
    {
        var frame = new FrameBatch(Command.Evnt);
        const string channel = "orders.created";
        EventRecordWriter.Write(frame, EventRecordFlags.None, 1, channel, default, default, "a"u8);
        var afterFirst = frame.Length;
        EventRecordWriter.Write(frame, EventRecordFlags.Confirm, 2, channel, default, default, "b"u8);
        Assert.AreEqual(EventRecordWriter.SizeOf(channel.Length, 0, 0, 1) - 1 - channel.Length, frame.Length - afterFirst, "the second record has no channel");
        EventRecordWriter.Write(frame, EventRecordFlags.None, 3, "orders.paid", default, default, "c"u8);

        var reader = new EventRecordReader(frame.Frame[FrameHeader.PayloadOffset..]);
        var channels = new List<string>();
        while (reader.TryRead(out var record, out _))
        {
            channels.Add(Encoding.ASCII.GetString(record.Channel));
            Assert.AreEqual(EventRecordFlags.None, record.Flags & EventRecordFlags.SameChannel, "readers hide the run flag");
        }

        CollectionAssert.AreEqual(new[] { channel, channel, "orders.paid" }, channels);
    }

    [TestMethod]
    public void DeliveryRecords_LeaveRepeatedOriginAndChannelOut()
    {
        var frame = new FrameBatch(Command.Dlvr);
        var a = Thid.NewRandom().ToByteArray();
        var b = Thid.NewRandom().ToByteArray();
        var orders = "orders.created"u8.ToArray();
        var paid = "orders.paid"u8.ToArray();
        DeliveryRecordWriter.Write(frame, a, a, 1, orders, orders, AnycatchFields.Multicatch, default, "1"u8);
        var afterFirst = frame.Length;
        DeliveryRecordWriter.Write(frame, a, a, 2, orders, orders, AnycatchFields.Multicatch, default, "2"u8);
        Assert.AreEqual(afterFirst - FrameHeader.PayloadOffset - Thid.ByteLength - 1 - orders.Length, frame.Length - afterFirst, "origin and channel left out");
        DeliveryRecordWriter.Write(frame, b, b, 3, orders, orders, new AnycatchFields(4, 9, 1), default, "3"u8);
        DeliveryRecordWriter.Write(frame, b, b, 4, paid, paid, AnycatchFields.Multicatch, default, "4"u8);

        var reader = new DeliveryRecordReader(frame.Frame[FrameHeader.PayloadOffset..]);
        var seen = new List<(Thid, string, bool)>();
        while (reader.TryRead(out var record, out _))
        {
            seen.Add((record.Origin, Encoding.ASCII.GetString(record.Channel), record.IsAnycatch));
        }

        CollectionAssert.AreEqual(new[]
        {
            (Thid.FromBytes(a), "orders.created", false),
            (Thid.FromBytes(a), "orders.created", false),
            (Thid.FromBytes(b), "orders.created", true),
            (Thid.FromBytes(b), "orders.paid", false),
        }, seen);
    }

    [TestMethod]
    public void RunFlags_OnAFramesFirstRecordAreRefused()
    {
        var events = new byte[] { (byte)EventRecordFlags.SameChannel, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
        var eventReader = new EventRecordReader(events);
        Assert.IsFalse(eventReader.TryRead(out _, out var error));
        Assert.Contains("first record", error ?? "");

        var deliveries = new byte[] { (byte)DeliveryRecordFlags.SameOrigin, 1, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 0, 0 };
        var deliveryReader = new DeliveryRecordReader(deliveries);
        Assert.IsFalse(deliveryReader.TryRead(out _, out error));
        Assert.Contains("first record", error ?? "");
    }

    [TestMethod]
    public void PooledBufferPool_TakesBackOnlyWhatItCouldHaveLent()
    {
        var pool = (NetMQ.IBufferPool)Activator.CreateInstance(typeof(PooledBufferPool), nonPublic: true)!;
        var rented = pool.Take(1000);
        Assert.IsGreaterThanOrEqualTo(1000, rented.Length);

        // What it lent goes back to the shared pool, whose next rent on this thread hands out that very array.
        pool.Return(rented);
        var again = pool.Take(1000);
        Assert.AreSame(rented, again, "a returned buffer is lent again");

        // What it could not have lent (allocated before the pool was installed) is left to the GC: the shared pool
        // would throw on an array of a length it never hands out, and must never lend it.
        var foreign = new byte[1000];
        pool.Return(foreign);
        pool.Return([]);
        var next = pool.Take(1000);
        Assert.AreNotSame(foreign, next, "a buffer the pool never lent is not lent");
        Assert.AreNotSame(again, next, "a buffer still out is not lent twice");
        pool.Return(next);
        pool.Return(again);
    }

    [TestMethod]
    public void AcceptRecords_RoundTrip()
    {
        var writer = new ArrayBufferWriter<byte>();
        AcceptRecord.Write(writer, 41, 0);
        AcceptRecord.Write(writer, ulong.MaxValue, 7);

        Assert.AreEqual(((ulong)41, 0U), AcceptRecord.Read(writer.WrittenSpan, 0));
        Assert.AreEqual((ulong.MaxValue, 7U), AcceptRecord.Read(writer.WrittenSpan, 1));
    }

    [TestMethod]
    public void FrameBatch_StartsWithItsPrefixAndReturnsItsBufferOnReset()
    {
        var batch = new FrameBatch(Command.Dlvr);
        Assert.IsTrue(batch.IsEmpty);
        DeliveryRecordWriter.Write(batch, new byte[20], 1, "a"u8, default, default, "x"u8);
        batch.RecordWritten();

        Assert.AreEqual("B DLVR ", Encoding.ASCII.GetString(batch.Frame[..7]));
        Assert.AreEqual(1, batch.Records);
        batch.Reset();
        Assert.AreEqual(0, batch.Length);
        Assert.IsTrue(batch.IsEmpty);
    }

    [TestMethod]
    public void FrameBatch_GrowsForLargeRecords()
    {
        var batch = new FrameBatch(Command.Evnt);
        var body = new byte[200_000];
        body[^1] = 42;
        EventRecordWriter.Write(batch, false, 1, "a", default, default, body);
        batch.RecordWritten();

        var reader = new EventRecordReader(batch.Frame[FrameHeader.PayloadOffset..]);
        Assert.IsTrue(reader.TryRead(out var record, out _));
        Assert.AreEqual(42, record.Body[^1]);
    }
}
