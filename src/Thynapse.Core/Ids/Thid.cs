using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Thynapse.Core;

/// <summary>
/// A THynapse IDentifier: 160 bits, written as 40 lowercase hexadecimal characters.
/// </summary>
/// <remarks>
/// Cells and transmitters take a random THID (<see cref="NewRandom"/>). An event's THID is the SHA-1 of its
/// canonical contents (<see cref="ForEvent"/>, PROTOCOL.md §4.3), so a resend of the same event has the same THID.
/// </remarks>
public readonly record struct Thid : ISpanFormattable
{
    /// <summary>Bytes in a THID.</summary>
    public const int ByteLength = 20;

    /// <summary>Characters in the text form of a THID.</summary>
    public const int HexLength = 40;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly uint _c;

    private Thid(ulong a, ulong b, uint c)
    {
        _a = a;
        _b = b;
        _c = c;
    }

    /// <summary>The all-zero THID, used where no id is known.</summary>
    public static Thid Empty => default;

    /// <summary>True for <see cref="Empty"/>.</summary>
    public bool IsEmpty => _a == 0 && _b == 0 && _c == 0;

    /// <summary>A new random THID from a cryptographic random source.</summary>
    public static Thid NewRandom()
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        RandomNumberGenerator.Fill(bytes);
        return FromBytes(bytes);
    }

    /// <summary>Reads a THID from its 20-byte binary form.</summary>
    public static Thid FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < ByteLength)
        {
            throw new ArgumentException($"A THID needs {ByteLength} bytes.", nameof(bytes));
        }

        return new Thid(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]));
    }

    /// <summary>Writes the 20-byte binary form into <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], _c);
    }

    /// <summary>The 20-byte binary form.</summary>
    public byte[] ToByteArray()
    {
        var bytes = new byte[ByteLength];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>
    /// The THID of an event: SHA-1 over the origin cell's THID, the origin sequence number (8 bytes, big-endian),
    /// the channel's length (1 byte), the channel (ASCII) and the body (PROTOCOL.md §4.3).
    /// </summary>
    public static Thid ForEvent(Thid origin, ulong sequence, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> body)
    {
        if (channel.Length > byte.MaxValue)
        {
            throw new ArgumentException("A channel has at most 255 bytes.", nameof(channel));
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        Span<byte> prefix = stackalloc byte[ByteLength + sizeof(ulong) + 1];
        origin.WriteTo(prefix);
        BinaryPrimitives.WriteUInt64BigEndian(prefix[ByteLength..], sequence);
        prefix[^1] = (byte)channel.Length;
        hash.AppendData(prefix);
        hash.AppendData(channel);
        hash.AppendData(body);
        Span<byte> digest = stackalloc byte[ByteLength];
        hash.GetHashAndReset(digest);
        return FromBytes(digest);
    }

    /// <summary>Parses 40 hexadecimal characters (either case).</summary>
    /// <exception cref="FormatException">The text is not a THID.</exception>
    public static Thid Parse(ReadOnlySpan<char> text) =>
        TryParse(text, out var thid) ? thid : throw new FormatException($"'{text}' is not a THID (40 hexadecimal characters).");

    /// <summary>Parses 40 hexadecimal characters (either case).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Thid thid)
    {
        thid = default;
        if (text.Length != HexLength)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[ByteLength];
        if (Convert.FromHexString(text, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != ByteLength)
        {
            return false;
        }

        thid = FromBytes(bytes);
        return true;
    }

    /// <summary>Parses 40 hexadecimal characters (either case); false for null.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Thid thid)
    {
        thid = default;
        return text is not null && TryParse(text.AsSpan(), out thid);
    }

    /// <summary>The 40 lowercase hexadecimal characters.</summary>
    public override string ToString() => string.Create(HexLength, this, static (chars, thid) => thid.TryFormat(chars, out _, default, null));

    /// <inheritdoc />
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <inheritdoc />
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (destination.Length < HexLength)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[ByteLength];
        WriteTo(bytes);
        Convert.TryToHexStringLower(bytes, destination, out charsWritten);
        return true;
    }
}
