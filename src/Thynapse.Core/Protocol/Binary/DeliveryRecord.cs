using System.Buffers;
using System.Buffers.Binary;

namespace Thynapse.Core;

/// <summary>Flags of a binary <c>DLVR</c> record (PROTOCOL.md §6.2).</summary>
[Flags]
public enum DeliveryRecordFlags : byte
{
    /// <summary>A multicatch delivery.</summary>
    None = 0,

    /// <summary>An anycatch delivery: subscription id, delivery tag and attempt follow the channel.</summary>
    Anycatch = 1,

    /// <summary>A JSON extension object follows.</summary>
    Extension = 2,

    /// <summary>The origin is left out: it is the previous record's (not allowed on a frame's first record).</summary>
    SameOrigin = 4,

    /// <summary>The channel is left out: it is the previous record's (not allowed on a frame's first record).</summary>
    SameChannel = 8,
}

/// <summary>One delivery of a binary <c>B DLVR</c> frame, read in place.</summary>
public readonly ref struct DeliveryRecord
{
    /// <summary>Flags of the record.</summary>
    public DeliveryRecordFlags Flags { get; init; }

    /// <summary>The THID of the cell that published the event.</summary>
    public Thid Origin { get; init; }

    /// <summary>The publisher's sequence number of the event.</summary>
    public ulong Sequence { get; init; }

    /// <summary>The channel, ASCII.</summary>
    public ReadOnlySpan<byte> Channel { get; init; }

    /// <summary>For anycatch: the id of the subscription that caught the event.</summary>
    public uint Subscription { get; init; }

    /// <summary>For anycatch: the tag that acknowledges this delivery.</summary>
    public ulong Tag { get; init; }

    /// <summary>For anycatch: 1 for the first delivery, 2 for the first redelivery, …</summary>
    public ushort Attempt { get; init; }

    /// <summary>The extension JSON object (UTF-8), empty when absent.</summary>
    public ReadOnlySpan<byte> Extension { get; init; }

    /// <summary>The body.</summary>
    public ReadOnlySpan<byte> Body { get; init; }

    /// <summary>Where <see cref="Body"/> starts in the payload the reader was given (to slice a copy of it).</summary>
    public int BodyOffset { get; init; }

    /// <summary>True for an anycatch delivery.</summary>
    public bool IsAnycatch => (Flags & DeliveryRecordFlags.Anycatch) != 0;
}

/// <summary>Reads the records of a <c>B DLVR</c> payload one by one, without copying.</summary>
public ref struct DeliveryRecordReader
{
    private const DeliveryRecordFlags KnownFlags = DeliveryRecordFlags.Anycatch | DeliveryRecordFlags.Extension | DeliveryRecordFlags.SameOrigin | DeliveryRecordFlags.SameChannel;
    private readonly int _length;
    private ReadOnlySpan<byte> _rest;
    private ReadOnlySpan<byte> _previousChannel;
    private Thid _previousOrigin;
    private bool _hasPrevious;

    /// <summary>Reads records from <paramref name="payload"/> (the bytes after <c>B DLVR </c>).</summary>
    public DeliveryRecordReader(ReadOnlySpan<byte> payload)
    {
        _rest = payload;
        _length = payload.Length;
    }

    /// <summary>True when every record has been read.</summary>
    public readonly bool End => _rest.IsEmpty;

    /// <summary>
    /// Reads the next record. False with a null <paramref name="error"/> at the end; false with an error when
    /// the record is truncated or inconsistent.
    /// </summary>
    public bool TryRead(out DeliveryRecord record, out string? error)
    {
        record = default;
        error = null;
        if (_rest.IsEmpty)
        {
            return false;
        }

        var r = new SpanCursor(_rest);
        if (!r.Byte(out var flagsByte))
        {
            error = "truncated delivery record";
            return false;
        }

        var flags = (DeliveryRecordFlags)flagsByte;
        if ((flags & ~KnownFlags) != 0)
        {
            error = $"unknown delivery record flags 0x{flagsByte:x2}";
            return false;
        }

        if (!_hasPrevious && (flags & (DeliveryRecordFlags.SameOrigin | DeliveryRecordFlags.SameChannel)) != 0)
        {
            error = "SAME_ORIGIN or SAME_CHANNEL on the first record of a frame";
            return false;
        }

        var origin = _previousOrigin;
        if ((flags & DeliveryRecordFlags.SameOrigin) == 0)
        {
            if (!r.Bytes(Thid.ByteLength, out var originBytes))
            {
                error = "truncated delivery record";
                return false;
            }

            origin = Thid.FromBytes(originBytes);
        }

        var channel = _previousChannel;
        if (!r.UInt64(out var sequence)
            || ((flags & DeliveryRecordFlags.SameChannel) == 0 && (!r.Byte(out var channelLength) || !r.Bytes(channelLength, out channel))))
        {
            error = "truncated delivery record";
            return false;
        }

        uint subscription = 0;
        ulong tag = 0;
        ushort attempt = 0;
        if ((flags & DeliveryRecordFlags.Anycatch) != 0 && (!r.UInt32(out subscription) || !r.UInt64(out tag) || !r.UInt16(out attempt)))
        {
            error = "truncated anycatch fields in delivery record";
            return false;
        }

        ReadOnlySpan<byte> extension = default;
        if ((flags & DeliveryRecordFlags.Extension) != 0 && (!r.UInt32(out var extensionLength) || !r.Bytes(extensionLength, out extension)))
        {
            error = "truncated extension in delivery record";
            return false;
        }

        if (!r.UInt32(out var bodyLength) || !r.Bytes(bodyLength, out var body))
        {
            error = "truncated body in delivery record";
            return false;
        }

        _rest = r.Rest;
        _previousOrigin = origin;
        _previousChannel = channel;
        _hasPrevious = true;
        record = new DeliveryRecord
        {
            BodyOffset = _length - _rest.Length - body.Length,
            Flags = flags & ~(DeliveryRecordFlags.SameOrigin | DeliveryRecordFlags.SameChannel),
            Origin = origin,
            Sequence = sequence,
            Channel = channel,
            Subscription = subscription,
            Tag = tag,
            Attempt = attempt,
            Extension = extension,
            Body = body,
        };
        return true;
    }
}

/// <summary>Writes records of a <c>B DLVR</c> payload.</summary>
public static class DeliveryRecordWriter
{
    /// <summary>Bytes of the anycatch fields (subscription, tag, attempt).</summary>
    public const int AnycatchFieldsLength = 4 + 8 + 2;

    /// <summary>Bytes a record takes.</summary>
    public static int SizeOf(int channelLength, bool anycatch, int extensionLength, int bodyLength) =>
        1 + Thid.ByteLength + 8 + 1 + channelLength + (anycatch ? AnycatchFieldsLength : 0)
        + (extensionLength > 0 ? 4 + extensionLength : 0) + 4 + bodyLength;

    /// <summary>
    /// Appends one record to a frame, leaving out the origin and the channel when their tokens equal those of the
    /// frame's previous record (equal tokens must mean equal bytes; callers pass objects that stand for them).
    /// </summary>
    public static void Write(
        FrameBatch frame,
        object originToken,
        ReadOnlySpan<byte> origin,
        ulong sequence,
        object channelToken,
        ReadOnlySpan<byte> channel,
        in AnycatchFields anycatch,
        ReadOnlySpan<byte> extension,
        ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var flags = (ReferenceEquals(frame.LastOrigin, originToken) ? DeliveryRecordFlags.SameOrigin : 0)
            | (ReferenceEquals(frame.LastChannel, channelToken) ? DeliveryRecordFlags.SameChannel : 0);
        Write(frame, flags, origin, sequence, channel, anycatch, extension, body);
        frame.LastOrigin = originToken;
        frame.LastChannel = channelToken;
    }

    /// <summary>
    /// Appends one record. <paramref name="origin"/> is the publisher's THID in its 20-byte form; the channel is ASCII.
    /// </summary>
    public static void Write(
        IBufferWriter<byte> writer,
        ReadOnlySpan<byte> origin,
        ulong sequence,
        ReadOnlySpan<byte> channel,
        in AnycatchFields anycatch,
        ReadOnlySpan<byte> extension,
        ReadOnlySpan<byte> body)
    {
        Write(writer, 0, origin, sequence, channel, anycatch, extension, body);
    }

    private static void Write(
        IBufferWriter<byte> writer,
        DeliveryRecordFlags runFlags,
        ReadOnlySpan<byte> origin,
        ulong sequence,
        ReadOnlySpan<byte> channel,
        in AnycatchFields anycatch,
        ReadOnlySpan<byte> extension,
        ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var isAny = anycatch.Tag != 0;
        var sameOrigin = (runFlags & DeliveryRecordFlags.SameOrigin) != 0;
        var sameChannel = (runFlags & DeliveryRecordFlags.SameChannel) != 0;
        var size = SizeOf(channel.Length, isAny, extension.Length, body.Length)
            - (sameOrigin ? Thid.ByteLength : 0) - (sameChannel ? 1 + channel.Length : 0);
        var span = writer.GetSpan(size);
        span[0] = (byte)(runFlags | (isAny ? DeliveryRecordFlags.Anycatch : 0) | (extension.IsEmpty ? 0 : DeliveryRecordFlags.Extension));
        var at = 1;
        if (!sameOrigin)
        {
            origin[..Thid.ByteLength].CopyTo(span[at..]);
            at += Thid.ByteLength;
        }

        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], sequence);
        at += 8;
        if (!sameChannel)
        {
            span[at++] = (byte)channel.Length;
            channel.CopyTo(span[at..]);
            at += channel.Length;
        }
        if (isAny)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], anycatch.Subscription);
            BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 4)..], anycatch.Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(span[(at + 12)..], anycatch.Attempt);
            at += AnycatchFieldsLength;
        }

        if (!extension.IsEmpty)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)extension.Length);
            extension.CopyTo(span[(at + 4)..]);
            at += 4 + extension.Length;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)body.Length);
        body.CopyTo(span[(at + 4)..]);
        writer.Advance(size);
    }
}

/// <summary>The anycatch part of a delivery; a zero <see cref="Tag"/> means a multicatch delivery.</summary>
/// <param name="Subscription">The id of the subscription that caught the event.</param>
/// <param name="Tag">The delivery tag (never zero for anycatch).</param>
/// <param name="Attempt">1 for the first delivery.</param>
public readonly record struct AnycatchFields(uint Subscription, ulong Tag, ushort Attempt)
{
    /// <summary>No anycatch fields: a multicatch delivery.</summary>
    public static AnycatchFields Multicatch => default;
}
