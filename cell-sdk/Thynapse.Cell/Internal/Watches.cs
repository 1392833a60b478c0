using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The cell's membership watches (PROTOCOL.md §5.17): what each knows of the cells matching it, turned into changes for
/// its observers from the transmitter's snapshots and <c>CELL</c> notices. Socket thread, except <see cref="Create"/>.
/// </summary>
internal sealed class Watches(RequestTable requests, ILogger log)
{
    private readonly Dictionary<uint, Watch> _live = [];
    private int _nextId;
    private long _unknownChanges;

    /// <summary>Any thread: a new watch of <paramref name="filter"/>, not started yet.</summary>
    public Watch Create(CellFilter filter) =>
        new((uint)Interlocked.Increment(ref _nextId), filter, new DispatchQueue<MembershipChange>(4096, ex => log.Error(ex, "A Watch observer threw")));

    /// <summary>Its <c>WTCH</c> is about to leave: its notices are taken from now on.</summary>
    public void Add(Watch watch) => _live[watch.Id] = watch;

    /// <summary>It ended: its notices are ignored.</summary>
    public void Remove(uint id) => _live.Remove(id);

    /// <summary>The cells matching a watch when it (re)started; differences from what it knew are changes.</summary>
    public static void Snapshot(Watch watch, OkayMessage reply)
    {
        watch.Started = true;
        var now = (reply.Cells ?? []).Select(CellInfo.From).ToDictionary(c => c.Id);
        foreach (var (id, cell) in now)
        {
            if (!watch.Known.TryGetValue(id, out var before))
            {
                watch.Queue.TryWrite(new MembershipChange(MembershipChangeKind.Joined, cell));
            }
            else if (!JToken.DeepEquals(before.Metadata, cell.Metadata) || !before.Tags.SequenceEqual(cell.Tags))
            {
                watch.Queue.TryWrite(new MembershipChange(MembershipChangeKind.Updated, cell));
            }
        }

        foreach (var (id, cell) in watch.Known)
        {
            if (!now.ContainsKey(id))
            {
                watch.Queue.TryWrite(new MembershipChange(MembershipChangeKind.Left, cell));
            }
        }

        watch.Known.Clear();
        foreach (var (id, cell) in now)
        {
            watch.Known[id] = cell;
        }
    }

    /// <summary>One <c>CELL</c> notice for a watch.</summary>
    /// <summary><c>CELL</c> notices whose <c>change</c> named a kind this version does not know, ignored (read from any thread).</summary>
    public long UnknownChanges => Volatile.Read(ref _unknownChanges);

    /// <summary>Socket thread: a <c>CELL</c> notice of a kind this version does not know: counted and ignored (PROTOCOL.md §5.17).</summary>
    public void UnknownKind(string change)
    {
        if (Interlocked.Increment(ref _unknownChanges) == 1)
        {
            log.Debug("Ignoring CELL notices of change {Change}, a kind this version does not know (counted in UnknownCellChanges)", change);
        }
    }

    public void Notice(CellChangeMessage notice)
    {
        if (!_live.TryGetValue(notice.Watch, out var watch))
        {
            return;
        }

        var cell = CellInfo.From(notice.Cell);
        var kind = notice.Change switch
        {
            CellChange.Joined => MembershipChangeKind.Joined,
            CellChange.Left => MembershipChangeKind.Left,
            _ => MembershipChangeKind.Updated,
        };
        if (kind == MembershipChangeKind.Left)
        {
            watch.Known.Remove(cell.Id);
        }
        else
        {
            watch.Known[cell.Id] = cell;
        }

        watch.Queue.TryWrite(new MembershipChange(kind, cell));
    }

    /// <summary>After a re-join: the transmitter forgot the watches; start them again and report the difference.</summary>
    public void Resume()
    {
        // Only watches that had started: one still waiting for its first answer is asked again as a parked request.
        foreach (var watch in _live.Values.Where(w => w.Started))
        {
            requests.Send(Request.Of(watch.ToMessage(), reply => Snapshot(watch, reply)));
        }
    }

    /// <summary>One watch: its filter, its observers' queue, and the cells it knows.</summary>
    internal sealed record Watch(uint Id, CellFilter Filter, DispatchQueue<MembershipChange> Queue)
    {
        public Dictionary<Thid, CellInfo> Known { get; } = [];

        /// <summary>Socket thread: set once the transmitter answered the watch's first WTCH.</summary>
        public bool Started { get; set; }

        /// <summary>Its <c>WTCH</c> payload.</summary>
        public WatchMessage ToMessage() => new(Id, Filter.ToDiscoveryFilter());
    }
}
