namespace Thynapse.Core;

/// <summary>Encoding ids: the first byte of every header frame (PROTOCOL.md §2).</summary>
public static class Encodings
{
    /// <summary><c>J</c>: the payload is a JSON object; an event body travels in its own frame.</summary>
    public const byte Json = (byte)'J';

    /// <summary><c>B</c>: the payload is a run of binary records, bodies inline (hot commands only).</summary>
    public const byte Binary = (byte)'B';
}
