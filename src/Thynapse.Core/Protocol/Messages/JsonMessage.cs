using System.Buffers;
using System.Globalization;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>Turns an <see cref="IJsonMessage"/> into its payload object or its header frame.</summary>
/// <remarks>
/// Both go through the message's one <see cref="IJsonMessage.WriteJson"/>, so they cannot disagree. The frame is the
/// bytes <see cref="JsonPayload.Frame"/> makes of the equivalent <see cref="JObject"/> (the same Newtonsoft writer and
/// settings), without building that object: no token tree, one reused text buffer per thread, one array for the frame.
/// </remarks>
public static class JsonMessage
{
    /// <summary>Text buffers above this many characters are not kept for the next frame.</summary>
    private const int KeptBufferChars = 64 * 1024;

    [ThreadStatic]
    private static StringBuilder? t_text;

    /// <summary>The payload as a JSON object (a new one each call).</summary>
    public static JObject ToJson<T>(in T message)
        where T : IJsonMessage
    {
        using var writer = new JTokenWriter();
        message.WriteJson(writer);
        return (JObject)writer.Token!;
    }

    /// <summary>The object <paramref name="write"/> writes (a new one each call): for the objects inside messages.</summary>
    public static JObject ToJson(Action<JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var writer = new JTokenWriter();
        write(writer);
        return (JObject)writer.Token!;
    }

    /// <summary>The header frame <c>J CMND {json}</c> (PROTOCOL.md §2).</summary>
    public static byte[] ToFrame<T>(in T message)
        where T : IJsonMessage
    {
        // Taken, not borrowed: a WriteJson that framed another message on this thread would get a buffer of its own.
        var text = t_text ?? new StringBuilder(256);
        t_text = null;
        text.Clear();
        using (var output = new StringWriter(text, CultureInfo.InvariantCulture))
        using (var writer = new JsonTextWriter(output))
        {
            message.WriteJson(writer);
        }

        var chars = ArrayPool<char>.Shared.Rent(text.Length);
        try
        {
            text.CopyTo(0, chars, 0, text.Length);
            var json = chars.AsSpan(0, text.Length);
            var frame = new byte[FrameHeader.PayloadOffset + Encoding.UTF8.GetByteCount(json)];
            FrameHeader.WritePrefix(frame, Encodings.Json, message.Command);
            Encoding.UTF8.GetBytes(json, frame.AsSpan(FrameHeader.PayloadOffset));
            return frame;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            if (text.Capacity <= KeptBufferChars)
            {
                t_text = text;
            }
        }
    }
}
