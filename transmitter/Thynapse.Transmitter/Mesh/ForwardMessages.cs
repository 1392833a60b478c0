using System.Buffers;
using System.Buffers.Binary;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// <c>FWRD</c> (directed, event socket): a numbered message of the sender's <b>forward stream</b> to one member, whose
/// second frame holds event records (PROTOCOL.md §12.11). <paramref name="To"/> is the destination's incarnation as the
/// sender knew it: a stream is numbered from 1 for every incarnation of its destination.
/// </summary>
internal readonly record struct ForwardMessage(StreamHeader Header, long To)
{
    public byte[] ToFrame() => MeshFrames.Frame(MeshCommand.Fwrd, Header.ToJson(new JObject { ["to"] = To }));

    public static bool TryRead(JObject json, out ForwardMessage message, out string? error)
    {
        message = default;
        var fields = new FieldReader(json);
        var header = StreamHeader.Read(fields);
        var to = fields.GetUInt64("to", required: true);
        error = fields.Error;
        if (error is null)
        {
            message = new ForwardMessage(header!.Value, (long)to!.Value);
        }

        return error is null;
    }
}

/// <summary>
/// <c>GONE</c> (directed, event socket): the answer to a <c>RSND</c> for numbers of the forward stream the sender no longer
/// holds (past its retransmit buffer); <c>seq</c> is the stream's last number, like a pulse's, and takes none.
/// </summary>
internal readonly record struct GoneMessage(StreamHeader Header, long To, long From, long Through)
{
    public byte[] ToFrame() => MeshFrames.Frame(MeshCommand.Gone, Header.ToJson(new JObject { ["to"] = To, ["from"] = From, ["through"] = Through }));

    public static bool TryRead(JObject json, out GoneMessage message, out string? error)
    {
        message = default;
        var fields = new FieldReader(json);
        var header = StreamHeader.Read(fields);
        var to = fields.GetUInt64("to", required: true);
        var from = fields.GetUInt64("from", required: true);
        var through = fields.GetUInt64("through", required: true);
        if (fields.Error is null && (from < 1 || through < from || through > long.MaxValue))
        {
            fields.Invalid("fields 'from' and 'through' must be numbers with 1 ≤ from ≤ through < 2^63");
        }

        error = fields.Error;
        if (error is null)
        {
            message = new GoneMessage(header!.Value, (long)to!.Value, (long)from!.Value, (long)through!.Value);
        }

        return error is null;
    }
}

/// <summary>
/// <c>RSND</c> (command socket, from a member's link): send again the numbers <paramref name="From"/> to
/// <paramref name="Through"/> of your forward stream to me; answered on that stream, with the messages (same numbers) and
/// a <c>GONE</c> for those no longer held.
/// </summary>
internal readonly record struct ResendRequest(long From, long Through)
{
    /// <summary>Most numbers one request may name (a larger gap is asked in several).</summary>
    public const long MaxRange = 65_536;

    public byte[] ToFrame() => MeshFrames.Frame(MeshCommand.Rsnd, new JObject { ["from"] = From, ["through"] = Through });

    public static bool TryRead(JObject json, out ResendRequest request, out string? error)
    {
        request = default;
        var fields = new FieldReader(json);
        var from = fields.GetUInt64("from", required: true);
        var through = fields.GetUInt64("through", required: true);
        if (fields.Error is null && (from < 1 || through < from || through > long.MaxValue || through - from >= MaxRange))
        {
            fields.Invalid($"fields 'from' and 'through' must be numbers with 1 ≤ from ≤ through < 2^63, at most {MaxRange} apart");
        }

        error = fields.Error;
        if (error is null)
        {
            request = new ResendRequest((long)from!.Value, (long)through!.Value);
        }

        return error is null;
    }
}

/// <summary>The kinds of record a <c>FWRD</c> carries.</summary>
internal enum ForwardKind : byte
{
    /// <summary>Deliver to every local cell with a matching multicatch subscription.</summary>
    Multicatch = 1,
}

/// <summary>One event record of a <c>FWRD</c> (PROTOCOL.md §12.11), read in place.</summary>
internal readonly ref struct ForwardRecord
{
    public ForwardKind Kind { get; init; }

    public ReadOnlySpan<byte> Origin { get; init; }

    public ulong Sequence { get; init; }

    public ReadOnlySpan<byte> Channel { get; init; }

    public ReadOnlySpan<byte> Extension { get; init; }

    public ReadOnlySpan<byte> Body { get; init; }
}

/// <summary>
/// The records of a <c>FWRD</c>, little-endian: kind (1 byte), flags (1 byte, 0), the publisher's THID (20 bytes), its
/// seq (8), channel length (1) and channel (ASCII), extension length (2) and extension (JSON, e.g. a dead letter's
/// details), body length (4) and body.
/// </summary>
internal static class ForwardRecords
{
    public static int SizeOf(int channel, int extension, int body) => 2 + 20 + 8 + 1 + channel + 2 + extension + 4 + body;

    public static void Write(IBufferWriter<byte> writer, ForwardKind kind, ReadOnlySpan<byte> origin, ulong seq, ReadOnlySpan<byte> channel,
        ReadOnlySpan<byte> extension, ReadOnlySpan<byte> body)
    {
        var span = writer.GetSpan(SizeOf(channel.Length, extension.Length, body.Length));
        var at = 0;
        span[at++] = (byte)kind;
        span[at++] = 0;
        origin.CopyTo(span[at..]);
        at += 20;
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], seq);
        at += 8;
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
        if (!cursor.Byte(out var kind) || !cursor.Byte(out _) || !cursor.Bytes(20u, out var origin) || !cursor.UInt64(out var seq)
            || !cursor.Byte(out var channelLength) || !cursor.Bytes(channelLength, out var channel)
            || !cursor.UInt16(out var extensionLength) || !cursor.Bytes(extensionLength, out var extension)
            || !cursor.UInt32(out var bodyLength) || !cursor.Bytes(bodyLength, out var body))
        {
            error = "a truncated event record";
            return false;
        }

        if (kind != (byte)ForwardKind.Multicatch)
        {
            error = $"an event record of unknown kind {kind}";
            return false;
        }

        rest = cursor.Rest;
        record = new ForwardRecord { Kind = (ForwardKind)kind, Origin = origin, Sequence = seq, Channel = channel, Extension = extension, Body = body };
        return true;
    }
}
