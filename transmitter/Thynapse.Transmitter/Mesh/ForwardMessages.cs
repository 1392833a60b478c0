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
    /// <summary>The start of a <c>FWRD</c> header as this transmitter writes it.</summary>
    private static ReadOnlySpan<byte> CanonicalStart => "J FWRD {\"id\":\""u8;

    /// <summary>
    /// The header frame: <c>J FWRD {"id":…,"incarnation":…,"seq":…,"to":…}</c>, the bytes the JSON writer gives for
    /// these fields in this order (<see cref="ToJsonFrame"/>), written directly: one goes with every burst of events.
    /// </summary>
    public byte[] ToFrame()
    {
        Span<byte> frame = stackalloc byte[160];
        CanonicalStart.CopyTo(frame);
        var at = CanonicalStart.Length;
        Span<char> hex = stackalloc char[Thid.HexLength];
        Header.Id.TryFormat(hex, out _, default, null);
        at += System.Text.Encoding.ASCII.GetBytes(hex, frame[at..]);
        at += Field(frame[at..], "\",\"incarnation\":"u8, Header.Incarnation);
        at += Field(frame[at..], ",\"seq\":"u8, Header.Seq);
        at += Field(frame[at..], ",\"to\":"u8, To);
        frame[at++] = (byte)'}';
        return frame[..at].ToArray();

        static int Field(Span<byte> into, ReadOnlySpan<byte> name, long value)
        {
            name.CopyTo(into);
            System.Buffers.Text.Utf8Formatter.TryFormat(value, into[name.Length..], out var digits);
            return name.Length + digits;
        }
    }

    /// <summary>The header frame through the JSON writer, as every other mesh message (what <see cref="ToFrame"/> matches).</summary>
    internal byte[] ToJsonFrame() => MeshFrames.Frame(MeshCommand.Fwrd, Header.ToJson(new JObject { ["to"] = To }));

    /// <summary>
    /// Reads a header frame in exactly the form <see cref="ToFrame"/> writes, without a JSON parser; false for any other
    /// form (spacing, order, escapes, another field), which <see cref="MeshFrames.TryParse"/> and <see cref="TryRead"/>
    /// then read and judge as usual. What it accepts, they accept with the same values.
    /// </summary>
    public static bool TryReadCanonical(ReadOnlySpan<byte> frame, out ForwardMessage message)
    {
        message = default;
        if (!frame.StartsWith(CanonicalStart) || frame.Length < CanonicalStart.Length + Thid.HexLength + 1)
        {
            return false;
        }

        var rest = frame[CanonicalStart.Length..];
        if (rest[Thid.HexLength] != (byte)'"')
        {
            return false;
        }

        Span<char> hex = stackalloc char[Thid.HexLength];
        for (var i = 0; i < hex.Length; i++)
        {
            hex[i] = (char)rest[i];
        }

        rest = rest[(Thid.HexLength + 1)..];
        if (!Thid.TryParse(hex, out var id)
            || !Field(ref rest, ",\"incarnation\":"u8, out var incarnation) || incarnation is 0 or > long.MaxValue
            || !Field(ref rest, ",\"seq\":"u8, out var seq) || seq > long.MaxValue
            || !Field(ref rest, ",\"to\":"u8, out var to)
            || rest is not [(byte)'}'])
        {
            return false;
        }

        message = new ForwardMessage(new StreamHeader(id, (long)incarnation, (long)seq), (long)to);
        return true;

        // A JSON integer in its plain form: digits, no leading zero, within 64 bits.
        static bool Field(ref ReadOnlySpan<byte> rest, ReadOnlySpan<byte> name, out ulong value)
        {
            value = 0;
            if (!rest.StartsWith(name))
            {
                return false;
            }

            rest = rest[name.Length..];
            var digits = 0;
            while (digits < rest.Length && rest[digits] - (uint)'0' <= 9)
            {
                var digit = (uint)(rest[digits] - '0');
                if (value > (ulong.MaxValue - digit) / 10)
                {
                    return false;
                }

                value = (value * 10) + digit;
                digits++;
            }

            if (digits == 0 || (digits > 1 && rest[0] == (byte)'0'))
            {
                return false;
            }

            rest = rest[digits..];
            return true;
        }
    }

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
