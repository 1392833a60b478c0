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
    private long _lowest = -1;
    private long _gaps;

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

        if (_lowest < 0)
        {
            Volatile.Write(ref _lowest, id);
        }

        if (id < _highest)
        {
            Volatile.Write(ref _outOfOrder, _outOfOrder + 1);
        }
        else
        {
            if (_highest >= 0 && id > _highest + 1)
            {
                Volatile.Write(ref _gaps, _gaps + 1);
            }

            _highest = id;
        }
    }

    /// <summary>
    /// Adds <c>duplicates</c>, <c>outOfOrder</c>, <c>outOfRange</c>, <c>gaps</c> (runs of missing numbers after the first
    /// caught) and <c>lowest</c> (the first number caught: above 0, the start was missed) to a receiver's report;
    /// distinct events = count − duplicates − outOfRange.
    /// </summary>
    public void Fill(JsonObject report)
    {
        report["duplicates"] = Volatile.Read(ref _duplicates);
        report["outOfOrder"] = Volatile.Read(ref _outOfOrder);
        report["outOfRange"] = _seen.OutOfRange;
        report["gaps"] = Volatile.Read(ref _gaps);
        report["lowest"] = Volatile.Read(ref _lowest);
    }
}
