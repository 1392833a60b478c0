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
