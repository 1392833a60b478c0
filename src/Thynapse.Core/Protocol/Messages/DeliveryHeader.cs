using System.Buffers.Text;

namespace Thynapse.Core;

/// <summary>
/// The header frame of a <c>J DLVR</c> (PROTOCOL.md §5.5) written into the caller's buffer, for the transmitter's
/// delivery path: the bytes <see cref="DeliveryMessage.ToFrame"/> makes of the same delivery, without a string, a
/// token tree or an array per event.
/// </summary>
/// <remarks>
/// The channel is printable ASCII (§3.1), so the only characters JSON escapes in it are <c>"</c> and <c>\</c>. A
/// dead letter's details come as the record's extension object, <c>{"deadLetter":{…}}</c> in compact JSON
/// (<see cref="DeadLetterDetails.ToExtension"/>), whose fields are written after the others, as
/// <see cref="DeliveryMessage.WriteJson"/> writes <c>deadLetter</c> last.
/// </remarks>
public static class DeliveryHeader
{
    /// <summary>Bytes of everything but the channel and the extension, rounded up: names, two THIDs, four numbers.</summary>
    private const int FixedBytes = 256;

    /// <summary>The most bytes <see cref="Write"/> takes for a channel and an extension of these lengths.</summary>
    public static int MaxLength(int channelLength, int extensionLength) => FrameHeader.PayloadOffset + FixedBytes + (2 * channelLength) + extensionLength;

    /// <summary>
    /// Writes <c>J DLVR {…}</c> into <paramref name="destination"/> (at least <see cref="MaxLength"/> bytes) and returns
    /// its length: channel, id, origin, seq, mode, then sub, tag and attempt for an anycatch delivery (a non-zero
    /// <see cref="AnycatchFields.Tag"/>), then the fields of <paramref name="extension"/>.
    /// </summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> channel, Thid id, Thid origin, ulong seq, in AnycatchFields anycatch, ReadOnlySpan<byte> extension)
    {
        if (destination.Length < MaxLength(channel.Length, extension.Length))
        {
            throw new ArgumentException($"a J DLVR header needs up to {MaxLength(channel.Length, extension.Length)} bytes", nameof(destination));
        }

        if (!extension.IsEmpty && (extension.Length < 2 || extension[0] != (byte)'{' || extension[^1] != (byte)'}'))
        {
            throw new ArgumentException("a delivery's extension is one compact JSON object", nameof(extension));
        }

        var at = FrameHeader.WritePrefix(destination, Encodings.Json, Command.Dlvr);
        Append(destination, ref at, "{\"channel\":\""u8);
        foreach (var c in channel)
        {
            if (c is (byte)'"' or (byte)'\\')
            {
                destination[at++] = (byte)'\\';
            }

            destination[at++] = c;
        }

        Append(destination, ref at, "\",\"id\":\""u8);
        AppendThid(destination, ref at, id);
        Append(destination, ref at, "\",\"origin\":\""u8);
        AppendThid(destination, ref at, origin);
        Append(destination, ref at, "\",\"seq\":"u8);
        AppendNumber(destination, ref at, seq);
        if (anycatch.Tag == 0)
        {
            Append(destination, ref at, ",\"mode\":\"multi\""u8);
        }
        else
        {
            Append(destination, ref at, ",\"mode\":\"any\",\"sub\":"u8);
            AppendNumber(destination, ref at, anycatch.Subscription);
            Append(destination, ref at, ",\"tag\":"u8);
            AppendNumber(destination, ref at, anycatch.Tag);
            Append(destination, ref at, ",\"attempt\":"u8);
            AppendNumber(destination, ref at, anycatch.Attempt);
        }

        if (extension.Length > 2)
        {
            destination[at++] = (byte)',';
            Append(destination, ref at, extension[1..^1]);
        }

        destination[at++] = (byte)'}';
        return at;
    }

    private static void Append(Span<byte> destination, ref int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination[at..]);
        at += bytes.Length;
    }

    private static void AppendThid(Span<byte> destination, ref int at, Thid thid)
    {
        Span<byte> raw = stackalloc byte[Thid.ByteLength];
        thid.WriteTo(raw);
        Convert.TryToHexStringLower(raw, destination[at..], out var written);
        at += written;
    }

    private static void AppendNumber(Span<byte> destination, ref int at, ulong value)
    {
        Utf8Formatter.TryFormat(value, destination[at..], out var written);
        at += written;
    }
}
