using System.Buffers.Binary;

namespace Thynapse.Core;

/// <summary>Bounds-checked little-endian reads over a span; every read fails instead of throwing.</summary>
internal ref struct SpanCursor(ReadOnlySpan<byte> source)
{
    private ReadOnlySpan<byte> _rest = source;

    public readonly ReadOnlySpan<byte> Rest => _rest;

    public bool Byte(out byte value)
    {
        value = 0;
        if (_rest.IsEmpty)
        {
            return false;
        }

        value = _rest[0];
        _rest = _rest[1..];
        return true;
    }

    public bool UInt16(out ushort value)
    {
        value = 0;
        if (_rest.Length < 2)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        _rest = _rest[2..];
        return true;
    }

    public bool UInt32(out uint value)
    {
        value = 0;
        if (_rest.Length < 4)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt32LittleEndian(_rest);
        _rest = _rest[4..];
        return true;
    }

    public bool UInt64(out ulong value)
    {
        value = 0;
        if (_rest.Length < 8)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt64LittleEndian(_rest);
        _rest = _rest[8..];
        return true;
    }

    public bool Bytes(uint length, out ReadOnlySpan<byte> value)
    {
        value = default;
        if ((uint)_rest.Length < length)
        {
            return false;
        }

        value = _rest[..(int)length];
        _rest = _rest[(int)length..];
        return true;
    }
}
