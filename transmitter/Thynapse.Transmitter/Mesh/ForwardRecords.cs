using System.Buffers;
using System.Buffers.Binary;
using Thynapse.Core;

namespace Thynapse.Transmitter.Mesh;

/// <summary>The kinds of record a <c>FWRD</c> carries (PROTOCOL.md §12.11).</summary>
internal enum ForwardKind : byte
{
    /// <summary>Deliver to every local cell with a matching multicatch subscription.</summary>
    Multicatch = 1,

    /// <summary>Deliver to exactly this cell (an anycatch choice, or a targeted multicatch receiver); never re-picked.</summary>
    Deliver = 2,

    /// <summary>The holder's answer about a kind-2 delivery: the cell's ack, nack or progress, or that the cell is gone.</summary>
    Outcome = 3,

    /// <summary>The holder's load report about one of its cells' acknowledging subscriptions, for the ingress's anycatch choices.</summary>
    Load = 4,
}

/// <summary>The flags of a kind-2 record.</summary>
[Flags]
internal enum DeliverFlags : byte
{
    None = 0,

    /// <summary>An anycatch delivery: subscription, tag and attempt are meaningful (else a multicatch delivery to the one cell).</summary>
    Anycatch = 1,

    /// <summary>The ingress tracks it (acknowledged anycatch): the holder relays the cell's answers (kind 3).</summary>
    Tracked = 2,
}

/// <summary>What a kind-3 record tells the ingress.</summary>
internal enum RelayOutcome : byte
{
    /// <summary>The cell acknowledged the delivery (<c>ACKN</c>).</summary>
    Ack = 1,

    /// <summary>The cell refused it (<c>NACK</c>, with its reason).</summary>
    Nack = 2,

    /// <summary>The cell is still working on it (<c>PROG</c>): its ack deadline starts again.</summary>
    Progress = 3,

    /// <summary>The cell (or its subscription) is not at the holder, or left while holding it: it was not handled there.</summary>
    Gone = 4,
}

/// <summary>One record of a <c>FWRD</c> (PROTOCOL.md §12.11), read in place; which fields are set depends on its kind.</summary>
internal readonly ref struct ForwardRecord
{
    public ForwardKind Kind { get; init; }

    /// <summary>Kind 2: <see cref="DeliverFlags"/>; kind 3: <see cref="RelayOutcome"/>.</summary>
    public byte Flags { get; init; }

    public ReadOnlySpan<byte> Origin { get; init; }

    public ulong Sequence { get; init; }

    /// <summary>Kinds 2 and 3: the cell's THID (20 bytes).</summary>
    public ReadOnlySpan<byte> Cell { get; init; }

    /// <summary>Kinds 2 and 4: the cell's subscription id (anycatch).</summary>
    public uint Subscription { get; init; }

    /// <summary>Kinds 2 and 3: the ingress's delivery tag; kind 4: the highest of the receiver's tags the holder has seen.</summary>
    public ulong Tag { get; init; }

    /// <summary>Kind 2: the attempt number.</summary>
    public ushort Attempt { get; init; }

    public ReadOnlySpan<byte> Channel { get; init; }

    public ReadOnlySpan<byte> Extension { get; init; }

    public ReadOnlySpan<byte> Body { get; init; }

    /// <summary>Kind 4: the deliveries the cell holds unacknowledged, from every ingress.</summary>
    public uint Load { get; init; }

    /// <summary>Kind 3: the reason (UTF-8) of a nack or of a gone cell.</summary>
    public ReadOnlySpan<byte> Reason { get; init; }
}

/// <summary>
/// The records of a <c>FWRD</c>, little-endian (PROTOCOL.md §12.11). Kind 1: kind (1 byte), flags (1, 0), the
/// publisher's THID (20), its seq (8), channel length (1) and channel (ASCII), extension length (2) and extension (JSON,
/// e.g. a dead letter's details), body length (4) and body. Kind 2 is kind 1 with, after the seq, the cell's THID (20),
/// the subscription (4), the ingress's tag (8) and the attempt (2). Kind 3: kind (1), outcome (1), the cell's THID (20),
/// the tag (8), reason length (2) and reason (UTF-8). Kind 4: kind (1), flags (1, 0), the cell's THID (20), the
/// subscription (4), the load (4) and the tag seen (8).
/// </summary>
internal static class ForwardRecords
{
    /// <summary>Longest reason a kind-3 record carries, in characters (longer ones are cut).</summary>
    public const int MaxReasonChars = 300;

    /// <summary>The highest record kind this transmitter reads (told to members in its member record, §12.10).</summary>
    public const int HighestKind = (int)ForwardKind.Load;

    /// <summary>The size of a kind-4 record.</summary>
    public const int LoadSize = 2 + 20 + 4 + 4 + 8;

    private const int DeliverExtra = 20 + 4 + 8 + 2;

    /// <summary>A kind-1 record up to its channel: kind, flags, origin, seq and the channel's length.</summary>
    private const int EventFixed = 2 + 20 + 8 + 1;

    public static int SizeOf(int channel, int extension, int body) => 2 + 20 + 8 + 1 + channel + 2 + extension + 4 + body;

    public static void Write(IBufferWriter<byte> writer, ForwardKind kind, ReadOnlySpan<byte> origin, ulong seq, ReadOnlySpan<byte> channel,
        ReadOnlySpan<byte> extension, ReadOnlySpan<byte> body) =>
        Write(writer, kind, 0, origin, seq, default, 0, 0, 0, channel, extension, body);

    /// <summary>A kind-2 record: deliver the event to exactly the cell <paramref name="cell"/> (20 bytes).</summary>
    public static void WriteDeliver(IBufferWriter<byte> writer, DeliverFlags flags, ReadOnlySpan<byte> origin, ulong seq, ReadOnlySpan<byte> cell,
        in AnycatchFields anycatch, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> extension, ReadOnlySpan<byte> body) =>
        Write(writer, ForwardKind.Deliver, (byte)flags, origin, seq, cell, anycatch.Subscription, anycatch.Tag, anycatch.Attempt, channel, extension, body);

    /// <summary>A kind-3 record: what became of the delivery <paramref name="tag"/> to <paramref name="cell"/>.</summary>
    public static void WriteOutcome(IBufferWriter<byte> writer, RelayOutcome outcome, ReadOnlySpan<byte> cell, ulong tag, string? reason)
    {
        if (reason is { Length: > MaxReasonChars })
        {
            reason = reason[..MaxReasonChars];
        }

        var span = writer.GetSpan(32 + (3 * MaxReasonChars));
        span[0] = (byte)ForwardKind.Outcome;
        span[1] = (byte)outcome;
        cell.CopyTo(span[2..]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[22..], tag);
        var length = reason is null ? 0 : System.Text.Encoding.UTF8.GetBytes(reason, span[32..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span[30..], (ushort)length);
        writer.Advance(32 + length);
    }

    /// <summary>A kind-4 record: the cell <paramref name="cell"/> holds <paramref name="load"/> unacknowledged deliveries of subscription <paramref name="subscription"/>.</summary>
    public static void WriteLoad(IBufferWriter<byte> writer, ReadOnlySpan<byte> cell, uint subscription, int load, ulong seen)
    {
        var span = writer.GetSpan(LoadSize);
        span[0] = (byte)ForwardKind.Load;
        span[1] = 0;
        cell.CopyTo(span[2..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[22..], subscription);
        BinaryPrimitives.WriteUInt32LittleEndian(span[26..], (uint)Math.Max(0, load));
        BinaryPrimitives.WriteUInt64LittleEndian(span[30..], seen);
        writer.Advance(LoadSize);
    }

    /// <summary>Reads the next record; false at the end, or with <paramref name="error"/> when the rest is not a record.</summary>
    public static bool TryRead(ref ReadOnlySpan<byte> rest, out ForwardRecord record, out string? error)
    {
        record = default;
        error = null;
        if (rest.IsEmpty)
        {
            return false;
        }

        var cursor = new SpanCursor(rest);
        if (!cursor.Byte(out var kind) || !cursor.Byte(out var flags))
        {
            error = "a truncated event record";
            return false;
        }

        if (kind is < (byte)ForwardKind.Multicatch or > (byte)ForwardKind.Load)
        {
            error = $"an event record of unknown kind {kind}";
            return false;
        }

        if (kind == (byte)ForwardKind.Load)
        {
            if (!cursor.Bytes(20u, out var loadCell) || !cursor.UInt32(out var loadSubscription) || !cursor.UInt32(out var load) || !cursor.UInt64(out var seen))
            {
                error = "a truncated load record";
                return false;
            }

            rest = cursor.Rest;
            record = new ForwardRecord { Kind = ForwardKind.Load, Flags = flags, Cell = loadCell, Subscription = loadSubscription, Load = load, Tag = seen };
            return true;
        }

        if (kind == (byte)ForwardKind.Outcome)
        {
            if (!cursor.Bytes(20u, out var outcomeCell) || !cursor.UInt64(out var outcomeTag) || !cursor.UInt16(out var reasonLength)
                || !cursor.Bytes(reasonLength, out var reason))
            {
                error = "a truncated outcome record";
                return false;
            }

            if (flags is < (byte)RelayOutcome.Ack or > (byte)RelayOutcome.Gone)
            {
                error = $"an outcome record of unknown outcome {flags}";
                return false;
            }

            rest = cursor.Rest;
            record = new ForwardRecord { Kind = ForwardKind.Outcome, Flags = flags, Cell = outcomeCell, Tag = outcomeTag, Reason = reason };
            return true;
        }

        // Kinds 1 and 2, the events: their fixed part is checked once, then each length before what it counts.
        var deliver = kind == (byte)ForwardKind.Deliver;
        var at = deliver ? EventFixed + DeliverExtra : EventFixed;
        if (rest.Length < at)
        {
            error = "a truncated event record";
            return false;
        }

        ReadOnlySpan<byte> cell = default;
        uint subscription = 0;
        ulong tag = 0;
        ushort attempt = 0;
        if (deliver)
        {
            cell = rest.Slice(30, 20);
            subscription = BinaryPrimitives.ReadUInt32LittleEndian(rest[50..]);
            tag = BinaryPrimitives.ReadUInt64LittleEndian(rest[54..]);
            attempt = BinaryPrimitives.ReadUInt16LittleEndian(rest[62..]);
        }

        int channelLength = rest[at - 1];
        if (rest.Length - at < channelLength + 2)
        {
            error = "a truncated event record";
            return false;
        }

        var channel = rest.Slice(at, channelLength);
        at += channelLength;
        int extensionLength = BinaryPrimitives.ReadUInt16LittleEndian(rest[at..]);
        at += 2;
        if (rest.Length - at < extensionLength + 4)
        {
            error = "a truncated event record";
            return false;
        }

        var extension = rest.Slice(at, extensionLength);
        at += extensionLength;
        var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(rest[at..]);
        at += 4;
        if ((uint)(rest.Length - at) < bodyLength)
        {
            error = "a truncated event record";
            return false;
        }

        record = new ForwardRecord
        {
            Kind = (ForwardKind)kind, Flags = flags, Origin = rest.Slice(2, 20), Sequence = BinaryPrimitives.ReadUInt64LittleEndian(rest[22..]), Cell = cell,
            Subscription = subscription, Tag = tag, Attempt = attempt, Channel = channel, Extension = extension, Body = rest.Slice(at, (int)bodyLength),
        };
        rest = rest[(at + (int)bodyLength)..];
        return true;
    }

    private static void Write(IBufferWriter<byte> writer, ForwardKind kind, byte flags, ReadOnlySpan<byte> origin, ulong seq, ReadOnlySpan<byte> cell,
        uint subscription, ulong tag, ushort attempt, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> extension, ReadOnlySpan<byte> body)
    {
        var deliver = kind == ForwardKind.Deliver;
        var span = writer.GetSpan(SizeOf(channel.Length, extension.Length, body.Length) + (deliver ? DeliverExtra : 0));
        var at = 0;
        span[at++] = (byte)kind;
        span[at++] = flags;
        origin.CopyTo(span[at..]);
        at += 20;
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], seq);
        at += 8;
        if (deliver)
        {
            cell.CopyTo(span[at..]);
            at += 20;
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], subscription);
            at += 4;
            BinaryPrimitives.WriteUInt64LittleEndian(span[at..], tag);
            at += 8;
            BinaryPrimitives.WriteUInt16LittleEndian(span[at..], attempt);
            at += 2;
        }

        span[at++] = (byte)channel.Length;
        channel.CopyTo(span[at..]);
        at += channel.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)extension.Length);
        at += 2;
        extension.CopyTo(span[at..]);
        at += extension.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)body.Length);
        at += 4;
        body.CopyTo(span[at..]);
        writer.Advance(at + body.Length);
    }
}
