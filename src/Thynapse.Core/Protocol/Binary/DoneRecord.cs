using System.Buffers;
using System.Buffers.Binary;

namespace Thynapse.Core;

/// <summary>How an event published with completion confirms ended (PROTOCOL.md §5.14).</summary>
public enum CompletionOutcome : byte
{
    /// <summary>Every anycatch receiver acknowledged it (or it had none).</summary>
    Completed = 0,

    /// <summary>At least one service gave up on it: it went to that service's dead-letter channel.</summary>
    DeadLettered = 1,
}

/// <summary>The records of a <c>B DONE</c> frame (PROTOCOL.md §6.5): seq (8), receivers (4), outcome (1).</summary>
public static class DoneRecord
{
    /// <summary>Bytes per record.</summary>
    public const int Length = 13;

    /// <summary>Appends one record.</summary>
    public static void Write(IBufferWriter<byte> writer, ulong sequence, uint receivers, CompletionOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(Length);
        BinaryPrimitives.WriteUInt64LittleEndian(span, sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], receivers);
        span[12] = (byte)outcome;
        writer.Advance(Length);
    }

    /// <summary>Reads record <paramref name="index"/>.</summary>
    public static (ulong Sequence, uint Receivers, CompletionOutcome Outcome) Read(ReadOnlySpan<byte> payload, int index)
    {
        var record = payload.Slice(index * Length, Length);
        return (BinaryPrimitives.ReadUInt64LittleEndian(record), BinaryPrimitives.ReadUInt32LittleEndian(record[8..]), (CompletionOutcome)record[12]);
    }
}
