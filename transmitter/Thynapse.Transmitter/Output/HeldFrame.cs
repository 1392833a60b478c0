using System.Buffers;

namespace Thynapse.Transmitter.Output;

/// <summary>What a held frame carries, which decides what its loss is counted as.</summary>
internal enum HeldKind
{
    /// <summary>Deliveries (counted as dropped deliveries and told to the cell with <c>SLOW</c>).</summary>
    Deliveries,

    /// <summary>Confirmations or completion notices for a publisher.</summary>
    Confirmations,

    /// <summary>A control reply.</summary>
    Reply,
}

/// <summary>
/// A copy of a frame (or a header and body) that found its cell's queue full and waits in its backlog
/// (PROTOCOL.md §8.2). The buffers are pooled and go back when the frame leaves or is dropped.
/// </summary>
internal readonly struct HeldFrame
{
    private readonly byte[] _first;
    private readonly int _firstLength;
    private readonly byte[]? _second;
    private readonly int _secondLength;

    private HeldFrame(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool twoFrames, HeldKind kind, int records)
    {
        _first = Copy(first);
        _firstLength = first.Length;
        _second = twoFrames ? Copy(second) : null;
        _secondLength = second.Length;
        Kind = kind;
        Records = records;
    }

    public HeldKind Kind { get; }

    /// <summary>Deliveries or confirmations in the frame (1 for a reply).</summary>
    public int Records { get; }

    public ReadOnlySpan<byte> First => _first.AsSpan(0, _firstLength);

    public ReadOnlySpan<byte> Second => _second.AsSpan(0, _secondLength);

    /// <summary>Bytes of the message (both frames).</summary>
    public int Length => _firstLength + (_second is null ? 0 : _secondLength);

    /// <summary>True for a header-and-body message (a <c>J DLVR</c>).</summary>
    public bool TwoFrames => _second is not null;

    public static HeldFrame Of(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool twoFrames, HeldKind kind, int records) =>
        new(first, second, twoFrames, kind, records);

    /// <summary>Gives the buffers back; the frame must not be used after.</summary>
    public void Release()
    {
        ArrayPool<byte>.Shared.Return(_first);
        if (_second is not null)
        {
            ArrayPool<byte>.Shared.Return(_second);
        }
    }

    private static byte[] Copy(ReadOnlySpan<byte> frame)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        return buffer;
    }
}
