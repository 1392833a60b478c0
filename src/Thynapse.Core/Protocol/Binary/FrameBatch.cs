using System.Buffers;

namespace Thynapse.Core;

/// <summary>
/// One binary frame being built (<c>B EVNT …</c>, <c>B DLVR …</c> or <c>B ACPT …</c>): records are appended under
/// load and the whole frame leaves in one send. The buffer is rented when the first record arrives and
/// returned after the send, so an idle peer holds no memory.
/// </summary>
public sealed class FrameBatch(Command command) : IBufferWriter<byte>
{
    private byte[]? _buffer;
    private int _written;

    /// <summary>Records in the frame.</summary>
    public int Records { get; private set; }

    /// <summary>Bytes in the frame, header included.</summary>
    public int Length => _written;

    /// <summary>True when no record was written.</summary>
    public bool IsEmpty => Records == 0;

    /// <summary>Set by the owner: for a publisher, the highest sequence number in the frame.</summary>
    public ulong Watermark { get; set; }

    /// <summary>Counts <see cref="Reset"/>s: a record written at one generation has left (or been dropped) once it differs.</summary>
    public int Generation { get; private set; }

    /// <summary>
    /// Set by the owner: a token standing for the channel of the last record (equal tokens mean equal channels), so
    /// that the next record with the same channel can leave it out (the SAME_CHANNEL flags, PROTOCOL.md §6).
    /// </summary>
    public object? LastChannel { get; set; }

    /// <summary>Set by the owner: a token standing for the origin of the last record (SAME_ORIGIN, PROTOCOL.md §6.2).</summary>
    public object? LastOrigin { get; set; }

    /// <summary>The whole frame, <c>B CMND </c> included.</summary>
    public ReadOnlySpan<byte> Frame => _buffer.AsSpan(0, _written);

    /// <summary>Counts a record the caller just wrote through <see cref="IBufferWriter{T}"/>.</summary>
    public void RecordWritten() => Records++;

    /// <inheritdoc />
    public void Advance(int count) => _written += count;

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Empties the frame and gives the buffer back.</summary>
    public void Reset()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _written = 0;
        Records = 0;
        Watermark = 0;
        LastChannel = null;
        LastOrigin = null;
        Generation++;
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(4096, FrameHeader.PayloadOffset + sizeHint));
            _written = FrameHeader.WritePrefix(_buffer, Encodings.Binary, command);
            return;
        }

        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
