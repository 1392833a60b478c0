using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace Thynapse.Bench.Roles;

/// <summary>
/// A receiver's exact check of one stamped stream (<c>--check N</c>: event numbers 0…N−1 in the first 8 bytes of each
/// body, from one publisher): each number is marked in a <see cref="SeenSet"/>, so duplicates are counted exactly and
/// the distinct events (count − duplicates − out of range) give the receiver's own gaps; a number lower than the highest
/// seen before it is counted as out of order (one publisher's numbers must rise). One caller at a time (a receiver's one
/// subscription, or its one reader thread).
/// </summary>
internal sealed class SequenceCheck(long capacity)
{
    private readonly SeenSet _seen = new(capacity);
    private long _duplicates;
    private long _outOfOrder;
    private long _highest = -1;

    /// <summary>From <c>--check</c> (the capacity), or null when the role is not asked to check.</summary>
    public static SequenceCheck? From(RoleArgs args) => args.Has("check") ? new SequenceCheck(args.Long("check")) : null;

    /// <summary>Checks the event whose body is <paramref name="body"/>.</summary>
    public void See(ReadOnlySpan<byte> body)
    {
        var id = BinaryPrimitives.ReadInt64LittleEndian(body);
        if (!_seen.Mark(id) && (ulong)id < (ulong)capacity)
        {
            Volatile.Write(ref _duplicates, _duplicates + 1);
        }

        if (id < _highest)
        {
            Volatile.Write(ref _outOfOrder, _outOfOrder + 1);
        }
        else
        {
            _highest = id;
        }
    }

    /// <summary>Adds <c>duplicates</c>, <c>outOfOrder</c> and <c>outOfRange</c> to a receiver's report: distinct events = count − duplicates − outOfRange.</summary>
    public void Fill(JsonObject report)
    {
        report["duplicates"] = Volatile.Read(ref _duplicates);
        report["outOfOrder"] = Volatile.Read(ref _outOfOrder);
        report["outOfRange"] = _seen.OutOfRange;
    }
}
