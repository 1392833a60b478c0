namespace Thynapse.Core;

/// <summary>
/// The header frame layout, <c>E CMND payload</c>: one encoding byte, a space, four command characters,
/// then (when there is a payload) a space and the payload (PROTOCOL.md §2).
/// </summary>
public static class FrameHeader
{
    /// <summary>Length of <c>E CMND</c>.</summary>
    public const int PrefixLength = 6;

    /// <summary>Offset of the payload when there is one (after <c>E CMND </c>).</summary>
    public const int PayloadOffset = PrefixLength + 1;

    /// <summary>
    /// Splits a header frame. Returns <see cref="ThynapseErrorCode.None"/> on success, else the code and an
    /// explanation; the command is <see cref="Command.Unknown"/> when the four characters are not a v1 command.
    /// </summary>
    public static ThynapseErrorCode TryParse(
        ReadOnlySpan<byte> frame,
        out byte encoding,
        out Command command,
        out ReadOnlySpan<byte> payload,
        out string? error)
    {
        encoding = 0;
        command = Command.Unknown;
        payload = default;
        error = null;

        if (frame.Length < PrefixLength)
        {
            error = $"a header frame has at least {PrefixLength} bytes ('E CMND'), this one has {frame.Length}";
            return ThynapseErrorCode.MalformedHeader;
        }

        if (frame[1] != (byte)' ' || (frame.Length > PrefixLength && frame[PrefixLength] != (byte)' '))
        {
            error = "a header frame is 'E CMND' or 'E CMND payload': a space must follow the encoding and the command";
            return ThynapseErrorCode.MalformedHeader;
        }

        var name = frame.Slice(2, 4);
        foreach (var b in name)
        {
            if (b is < (byte)'A' or > (byte)'Z')
            {
                error = "a command is four upper-case ASCII letters";
                return ThynapseErrorCode.MalformedHeader;
            }
        }

        encoding = frame[0];
        if (encoding is not (Encodings.Json or Encodings.Binary))
        {
            error = encoding is >= 0x21 and <= 0x7e
                ? $"unknown encoding '{(char)encoding}' (this transmitter knows 'J' and 'B')"
                : $"unknown encoding byte 0x{encoding:x2} (this transmitter knows 'J' and 'B')";
            return ThynapseErrorCode.UnknownEncoding;
        }

        command = CommandNames.Parse(name);
        payload = frame.Length > PrefixLength ? frame[PayloadOffset..] : default;
        return ThynapseErrorCode.None;
    }

    /// <summary>Writes <c>E CMND </c> (with the trailing space) and returns the number of bytes written (7).</summary>
    public static int WritePrefix(Span<byte> destination, byte encoding, Command command)
    {
        var name = CommandNames.Of(command);
        destination[0] = encoding;
        destination[1] = (byte)' ';
        for (var i = 0; i < 4; i++)
        {
            destination[2 + i] = (byte)name[i];
        }

        destination[PrefixLength] = (byte)' ';
        return PayloadOffset;
    }
}
