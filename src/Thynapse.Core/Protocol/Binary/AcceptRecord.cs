using System.Buffers;
using System.Buffers.Binary;

namespace Thynapse.Core;

/// <summary>
/// The records of a <c>B ACPT</c> frame (PROTOCOL.md §6.3): 8 bytes of sequence number and 4 bytes of receiver
/// count per confirmed event.
/// </summary>
public static class AcceptRecord
{
    /// <summary>Bytes per record.</summary>
    public const int Length = 12;

    /// <summary>Appends one record.</summary>
    public static void Write(IBufferWriter<byte> writer, ulong sequence, uint receivers)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(Length);
        BinaryPrimitives.WriteUInt64LittleEndian(span, sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], receivers);
        writer.Advance(Length);
    }

    /// <summary>Reads record <paramref name="index"/> of a payload whose length is a multiple of <see cref="Length"/>.</summary>
    public static (ulong Sequence, uint Receivers) Read(ReadOnlySpan<byte> payload, int index)
    {
        var record = payload.Slice(index * Length, Length);
        return (BinaryPrimitives.ReadUInt64LittleEndian(record), BinaryPrimitives.ReadUInt32LittleEndian(record[8..]));
    }
}
