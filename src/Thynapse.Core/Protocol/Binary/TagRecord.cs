using System.Buffers;
using System.Buffers.Binary;

namespace Thynapse.Core;

/// <summary>The records of a <c>B ACKN</c> frame (PROTOCOL.md §6.4): one 8-byte delivery tag each.</summary>
public static class TagRecord
{
    /// <summary>Bytes per record.</summary>
    public const int Length = 8;

    /// <summary>Appends one tag.</summary>
    public static void Write(IBufferWriter<byte> writer, ulong tag)
    {
        ArgumentNullException.ThrowIfNull(writer);
        BinaryPrimitives.WriteUInt64LittleEndian(writer.GetSpan(Length), tag);
        writer.Advance(Length);
    }

    /// <summary>Reads tag <paramref name="index"/> of a payload whose length is a multiple of <see cref="Length"/>.</summary>
    public static ulong Read(ReadOnlySpan<byte> payload, int index) => BinaryPrimitives.ReadUInt64LittleEndian(payload.Slice(index * Length, Length));
}
