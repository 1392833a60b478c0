using System.Buffers;
using System.Buffers.Binary;

namespace Thynapse.Core;

/// <summary>Flags of a binary <c>EVNT</c> record (PROTOCOL.md §6.1).</summary>
[Flags]
public enum EventRecordFlags : byte
{
    /// <summary>No optional part.</summary>
    None = 0,

    /// <summary>The publisher wants an <c>ACPT</c> (or an <c>ERRR</c>) for this event.</summary>
    Confirm = 1,

    /// <summary>A key follows the channel (sticky anycatch).</summary>
    Key = 2,

    /// <summary>A JSON extension object follows (fields of the <c>J EVNT</c> payload not covered by the record).</summary>
    Extension = 4,

    /// <summary>The publisher wants a <c>DONE</c> once every anycatch receiver has handled the event.</summary>
    Completion = 8,

    /// <summary>The channel is left out: it is the previous record's (not allowed on a frame's first record).</summary>
    SameChannel = 16,

    /// <summary>
    /// A resend of an event the publisher sent in an earlier session, whose outcome it never learned (PROTOCOL.md §4.5):
    /// routed again only to acknowledging anycatch subscriptions, never to multicatch or non-acknowledging anycatch ones,
    /// which may have had it already and promise no duplicates.
    /// </summary>
    Resend = 32,
}

/// <summary>One event of a binary <c>B EVNT</c> frame, read in place.</summary>
public readonly ref struct EventRecord
{
    /// <summary>Flags of the record.</summary>
    public EventRecordFlags Flags { get; init; }

    /// <summary>The publisher's sequence number for this event.</summary>
    public ulong Sequence { get; init; }

    /// <summary>The channel, ASCII.</summary>
    public ReadOnlySpan<byte> Channel { get; init; }

    /// <summary>The key, empty when absent.</summary>
    public ReadOnlySpan<byte> Key { get; init; }

    /// <summary>The extension JSON object (UTF-8), empty when absent.</summary>
    public ReadOnlySpan<byte> Extension { get; init; }

    /// <summary>The body.</summary>
    public ReadOnlySpan<byte> Body { get; init; }

    /// <summary>True when the publisher asked for a confirmation.</summary>
    public bool Confirm => (Flags & EventRecordFlags.Confirm) != 0;

    /// <summary>True when the publisher asked to be told of the event's completion.</summary>
    public bool Completion => (Flags & EventRecordFlags.Completion) != 0;
}

/// <summary>Reads the records of a <c>B EVNT</c> payload one by one, without copying.</summary>
public ref struct EventRecordReader
{
    private const EventRecordFlags KnownFlags = EventRecordFlags.Confirm | EventRecordFlags.Key | EventRecordFlags.Extension | EventRecordFlags.Completion | EventRecordFlags.SameChannel | EventRecordFlags.Resend;
    private ReadOnlySpan<byte> _rest;
    private ReadOnlySpan<byte> _previousChannel;

    /// <summary>Reads records from <paramref name="payload"/> (the bytes after <c>B EVNT </c>).</summary>
    public EventRecordReader(ReadOnlySpan<byte> payload) => _rest = payload;

    /// <summary>True when every record has been read.</summary>
    public readonly bool End => _rest.IsEmpty;

    /// <summary>
    /// Reads the next record. False with a null <paramref name="error"/> at the end; false with an error when
    /// the record is truncated or inconsistent, after which the rest of the payload cannot be read.
    /// </summary>
    public bool TryRead(out EventRecord record, out string? error)
    {
        record = default;
        error = null;
        if (_rest.IsEmpty)
        {
            return false;
        }

        var r = new SpanCursor(_rest);
        if (!r.Byte(out var flagsByte) || !r.UInt64(out var sequence))
        {
            error = "truncated event record";
            return false;
        }

        var flags = (EventRecordFlags)flagsByte;
        if ((flags & ~KnownFlags) != 0)
        {
            error = $"unknown event record flags 0x{flagsByte:x2}";
            return false;
        }

        ReadOnlySpan<byte> channel;
        if ((flags & EventRecordFlags.SameChannel) != 0)
        {
            if (_previousChannel.IsEmpty)
            {
                error = "SAME_CHANNEL on the first record of a frame";
                return false;
            }

            channel = _previousChannel;
        }
        else if (!r.Byte(out var channelLength) || !r.Bytes(channelLength, out channel))
        {
            error = "truncated event record";
            return false;
        }

        ReadOnlySpan<byte> key = default, extension = default;
        if ((flags & EventRecordFlags.Key) != 0 && (!r.UInt16(out var keyLength) || !r.Bytes(keyLength, out key)))
        {
            error = "truncated key in event record";
            return false;
        }

        if ((flags & EventRecordFlags.Extension) != 0 && (!r.UInt32(out var extensionLength) || !r.Bytes(extensionLength, out extension)))
        {
            error = "truncated extension in event record";
            return false;
        }

        if (!r.UInt32(out var bodyLength) || !r.Bytes(bodyLength, out var body))
        {
            error = "truncated body in event record";
            return false;
        }

        _rest = r.Rest;
        _previousChannel = channel;
        record = new EventRecord
        {
            Flags = flags & ~EventRecordFlags.SameChannel,
            Sequence = sequence,
            Channel = channel,
            Key = key,
            Extension = extension,
            Body = body,
        };
        return true;
    }
}

/// <summary>Writes records of a <c>B EVNT</c> payload.</summary>
public static class EventRecordWriter
{
    /// <summary>Bytes a record takes (with its channel written out).</summary>
    public static int SizeOf(int channelLength, int keyLength, int extensionLength, int bodyLength) =>
        1 + 8 + 1 + channelLength + (keyLength > 0 ? 2 + keyLength : 0) + (extensionLength > 0 ? 4 + extensionLength : 0) + 4 + bodyLength;

    /// <summary>
    /// The largest body a <c>B EVNT</c> frame holding this one record can carry under a frame limit of
    /// <paramref name="maxFrameBytes"/> (<c>WLCM.limits.frame</c>): the limit less the header (<c>B EVNT </c>, 7 bytes)
    /// and the record's own fields, 14 bytes plus the channel, key and extension (PROTOCOL.md §6.1, §8.1).
    /// </summary>
    public static int LargestBody(int maxFrameBytes, int channelLength, int keyLength, int extensionLength) =>
        maxFrameBytes - FrameHeader.PayloadOffset - SizeOf(channelLength, keyLength, extensionLength, 0);

    /// <summary>
    /// Appends one record to a frame, leaving the channel out when <paramref name="channel"/> is the token of the
    /// frame's previous record (callers pass the channel string itself: the same reference means the same channel).
    /// </summary>
    public static void Write(
        FrameBatch frame,
        EventRecordFlags flags,
        ulong sequence,
        string channel,
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> extension,
        ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(channel);
        var same = ReferenceEquals(frame.LastChannel, channel);
        Write(frame, flags | (same ? EventRecordFlags.SameChannel : 0), sequence, same ? default : channel.AsSpan(), key, extension, body);
        frame.LastChannel = channel;
    }

    /// <summary>Appends one record; the channel must be ASCII of at most 255 bytes.</summary>
    public static void Write(
        IBufferWriter<byte> writer,
        bool confirm,
        ulong sequence,
        ReadOnlySpan<char> channel,
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> extension,
        ReadOnlySpan<byte> body) =>
        Write(writer, confirm ? EventRecordFlags.Confirm : EventRecordFlags.None, sequence, channel, key, extension, body);

    /// <summary>
    /// Appends one record with <paramref name="flags"/> (<see cref="EventRecordFlags.Confirm"/>,
    /// <see cref="EventRecordFlags.Completion"/>; the key and extension flags follow from the spans).
    /// </summary>
    public static void Write(
        IBufferWriter<byte> writer,
        EventRecordFlags flags,
        ulong sequence,
        ReadOnlySpan<char> channel,
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> extension,
        ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var sameChannel = (flags & EventRecordFlags.SameChannel) != 0;
        var size = SizeOf(channel.Length, key.Length, extension.Length, body.Length) - (sameChannel ? 1 : 0);
        var span = writer.GetSpan(size);
        flags = (flags & (EventRecordFlags.Confirm | EventRecordFlags.Completion | EventRecordFlags.SameChannel | EventRecordFlags.Resend))
            | (key.IsEmpty ? 0 : EventRecordFlags.Key)
            | (extension.IsEmpty ? 0 : EventRecordFlags.Extension);
        span[0] = (byte)flags;
        BinaryPrimitives.WriteUInt64LittleEndian(span[1..], sequence);
        var at = 9;
        if (!sameChannel)
        {
            span[at++] = (byte)channel.Length;
            System.Text.Ascii.FromUtf16(channel, span.Slice(at, channel.Length), out _);
            at += channel.Length;
        }
        if (!key.IsEmpty)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)key.Length);
            key.CopyTo(span[(at + 2)..]);
            at += 2 + key.Length;
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
