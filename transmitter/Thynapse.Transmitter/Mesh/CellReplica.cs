using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// A cell served by another transmitter, as this one's replica holds it (PROTOCOL.md §12.8): its profile (with its
/// subscriptions, whose <see cref="Subscription.Receiver"/> it is) and the transmitter that serves it. Discovery lists and
/// watches it; its subscriptions are in the route table (<see cref="CellReplica.Routes"/>): route plans keep remote
/// multicatch receivers apart from local ones (<see cref="RoutePlan.RemoteMulticatch"/>, forwarded once per transmitter),
/// and anycatch groups hold both, the ingress choosing among them (PROTOCOL.md §12.11). Its subscriptions' in-flight
/// lists are this transmitter's own accounting of what it forwarded there and waits for.
/// </summary>
internal sealed class RemoteCell(CellProfile profile, Thid transmitter, CellVersion version) : Receiver(profile)
{
    /// <summary>The transmitter that owns and serves the cell.</summary>
    public Thid Transmitter { get; } = transmitter;

    /// <summary>The version of the record it was last set from.</summary>
    public CellVersion Version { get; set; } = version;
}

/// <summary>
/// The replicated cell directory (PROTOCOL.md §12.8), both halves. Local: the changes of a local cell (joined, metadata
/// or tags changed, subscribed, left) take the next version (this transmitter's incarnation, a counter) and are broadcast
/// at the end of the routing burst they were made in, one record a cell;
/// <see cref="LocalSnapshot"/> is every live local cell, for the answer to a <c>JOIN</c>. Remote: records from owners
/// are applied when newer than what is held (higher version wins, whatever the order they arrive in); a down record
/// leaves a tombstone for <see cref="MeshOptions.CellTombstoneTime"/> so that a late up record does not resurrect the
/// cell; a snapshot sets the owner's floor (a cell it does not list, at or below its version, is down); an owner that is
/// declared dead or leaves takes its cells with it. Remote cells are raised as joined, updated and left for discovery.
/// </summary>
/// <remarks>Pure: no sockets, no threads; the routing clock for tombstones. Routing thread only.</remarks>
internal sealed class CellReplica
{
    private readonly Func<long> _incarnation;
    private readonly Func<Thid, bool> _serving;
    private readonly StallAwareClock _clock;
    private readonly long _tombstoneTicks;
    private readonly TransmitterCounters _counters;
    private readonly Dictionary<Thid, CellRecord> _local = [];
    private readonly Dictionary<Thid, CellProfile> _changed = [];
    private readonly Dictionary<Thid, Owner> _owners = [];
    private readonly long _sweepTicks;
    private long _counter;
    private int _live;
    private long _nextSweepAt;

    /// <param name="incarnation">This transmitter's incarnation now (a refutation raises it).</param>
    /// <param name="serving">True for an owner whose records are taken: an alive or suspect member.</param>
    /// <param name="clock">The routing clock.</param>
    /// <param name="tombstoneTime">How long a down cell's tombstone is kept.</param>
    /// <param name="counters">The transmitter's counters (remote cells held, records applied and ignored).</param>
    public CellReplica(Func<long> incarnation, Func<Thid, bool> serving, StallAwareClock clock, TimeSpan tombstoneTime, TransmitterCounters counters)
    {
        _counters = counters;
        _incarnation = incarnation;
        _serving = serving;
        _clock = clock;
        _tombstoneTicks = clock.TicksOf(tombstoneTime);
        _sweepTicks = Math.Min(_tombstoneTicks / 10, clock.TicksOf(TimeSpan.FromSeconds(1)));
    }

    /// <summary>
    /// The route table remote cells' subscriptions go into (and leave when the cell changes them, goes down, or its
    /// owner is gone); none: interest is held in the profiles only (unit tests).
    /// </summary>
    public RouteTable? Routes { get; set; }

    /// <summary>A local change to publish on the broadcast stream (set by the transport).</summary>
    public Action<CellRecord>? Publish { get; set; }

    /// <summary>A remote cell appeared.</summary>
    public event Action<RemoteCell>? Joined;

    /// <summary>A remote cell's metadata or tags changed.</summary>
    public event Action<RemoteCell>? Updated;

    /// <summary>A remote cell is gone (down, its owner dead or left); <see cref="Receiver.Closed"/> is set.</summary>
    public event Action<RemoteCell>? Left;

    /// <summary>A remote cell's subscription entered the route table (queued anycatch work may go to it).</summary>
    public event Action<Subscription>? Subscribed;

    /// <summary>An owner's up record was applied: its claim on the cell, which may supersede this transmitter's own.</summary>
    public event Action<Thid, CellClaim>? Claimed;

    /// <summary>The version of the last local change.</summary>
    public CellVersion LocalVersion => new(_incarnation(), _counter);

    /// <summary>Every live remote cell.</summary>
    public IEnumerable<RemoteCell> Cells => _owners.Values.SelectMany(o => o.Cells.Values).Where(e => e.Cell is not null).Select(e => e.Cell!);

    /// <summary>How many live remote cells are held.</summary>
    public int Count => _live;

    /// <summary>How many tombstones are held.</summary>
    public int Tombstones => _owners.Values.Sum(o => o.Cells.Values.Count(e => e.Cell is null));

    /// <summary>Records ignored because what was held was as new or newer (reordered, repeated, or older than a snapshot).</summary>
    public long Stale => TransmitterCounters.Read(ref _counters.MeshCellRecordsStale);

    /// <summary>
    /// Follows a directory's feed: its cells are this transmitter's own. Their changes are coalesced until
    /// <see cref="FlushLocal"/> (the end of the routing burst they were made in): a cell that subscribes 10,000 times in
    /// one burst is one record at one version, not 10,000 records of a growing subscription set (each a copy and a sort
    /// of all of them, and on a mesh a broadcast).
    /// </summary>
    public void Follow(CellDirectory directory)
    {
        directory.Joined += cell => _changed[cell.Id] = cell.Profile;
        directory.Updated += cell => _changed[cell.Id] = cell.Profile;
        directory.Left += cell =>
        {
            // A cell that re-joined already (a new session of the same THID) is not down.
            if (!directory.TryGetById(cell.Id, out var current) || ReferenceEquals(current, cell))
            {
                LocalDown(cell.Id);
            }
        };
    }

    /// <summary>Follows the subscriptions of local cells: a change is a new record of the cell, at the next version.</summary>
    public void Follow(SubscriptionManager subscriptions) => subscriptions.Changed += cell => _changed[cell.Id] = cell.Profile;

    /// <summary>A local cell joined or changed: its record at the next version, published.</summary>
    public void LocalChanged(CellProfile profile)
    {
        _changed.Remove(profile.Id);
        PublishLocal(CellRecord.Of(profile, Next()));
    }

    /// <summary>The end of a routing burst: each local cell that changed during it, as it is now, at the next version, published.</summary>
    public void FlushLocal()
    {
        if (_changed.Count == 0)
        {
            return;
        }

        foreach (var profile in _changed.Values)
        {
            PublishLocal(CellRecord.Of(profile, Next()));
        }

        _changed.Clear();
    }

    /// <summary>A local cell left: a down record at the next version, published (a change not yet flushed goes with it).</summary>
    public void LocalDown(Thid id)
    {
        _changed.Remove(id);
        if (_local.Remove(id))
        {
            Publish?.Invoke(CellRecord.Down(id, Next()));
        }
    }

    /// <summary>The strongest claim another live owner holds on <paramref name="id"/> as this replica knows it (null: none).</summary>
    public CellClaim? ClaimOf(Thid id)
    {
        CellClaim? best = null;
        foreach (var (owner, held) in _owners)
        {
            if (held.Cells.TryGetValue(id, out var entry) && entry.Cell is { } cell && _serving(owner))
            {
                var claim = new CellClaim(cell.Profile.Claim, owner, cell.Profile.Proof);
                if (best is not { } strongest || claim.Supersedes(strongest))
                {
                    best = claim;
                }
            }
        }

        return best;
    }

    /// <summary>Every live local cell, as of the last local version.</summary>
    public CellSnapshot LocalSnapshot()
    {
        FlushLocal();
        return new CellSnapshot(LocalVersion, [.. _local.Values]);
    }

    /// <summary>Records broadcast by <paramref name="owner"/> (a <c>CELS</c>).</summary>
    public void Apply(Thid owner, IReadOnlyList<CellRecord> records)
    {
        if (!_serving(owner))
        {
            return;
        }

        var held = OwnerOf(owner);
        foreach (var record in records)
        {
            ApplyOne(owner, held, record);
        }
    }

    /// <summary>
    /// <paramref name="owner"/>'s snapshot (with its <c>MEMB</c> answer): every record is applied as a delta, and every
    /// cell held for the owner that the snapshot does not list, at or below its version, is down.
    /// </summary>
    public void ApplySnapshot(Thid owner, CellSnapshot snapshot)
    {
        if (!_serving(owner))
        {
            return;
        }

        var held = OwnerOf(owner);
        var listed = new HashSet<Thid>();
        foreach (var record in snapshot.Cells)
        {
            listed.Add(record.Id);
            ApplyOne(owner, held, record);
        }

        foreach (var (id, entry) in held.Cells.ToList())
        {
            if (!listed.Contains(id) && entry.Version <= snapshot.At && entry.Cell is not null)
            {
                Bury(held, id, entry, snapshot.At);
            }
        }

        if (snapshot.At > held.Floor)
        {
            held.Floor = snapshot.At;
        }

        held.Snapshotted = true;
    }

    /// <summary>The live cell <paramref name="id"/> of <paramref name="owner"/>, or null.</summary>
    public RemoteCell? Find(Thid owner, Thid id) =>
        _owners.TryGetValue(owner, out var held) && held.Cells.TryGetValue(id, out var entry) ? entry.Cell : null;

    /// <summary>True when a snapshot of <paramref name="owner"/>'s cells was applied since it was last gone (the readiness gate).</summary>
    public bool HasSnapshotOf(Thid owner) => _owners.TryGetValue(owner, out var held) && held.Snapshotted;

    /// <summary>An owner was declared dead or left: its cells are gone, and what was known of it is forgotten.</summary>
    public void OwnerGone(Thid owner)
    {
        if (!_owners.Remove(owner, out var held))
        {
            return;
        }

        foreach (var entry in held.Cells.Values)
        {
            if (entry.Cell is { } cell)
            {
                Close(cell);
            }
        }
    }

    /// <summary>Forgets tombstones older than <see cref="MeshOptions.CellTombstoneTime"/> (looked for at most every second, or a tenth of that time).</summary>
    public void Tick()
    {
        var now = _clock.Now;
        if (now < _nextSweepAt)
        {
            return;
        }

        _nextSweepAt = now + _sweepTicks;
        foreach (var held in _owners.Values)
        {
            if (held.Tombstones == 0)
            {
                continue;
            }

            foreach (var (id, entry) in held.Cells.ToList())
            {
                if (entry.Cell is null && now - entry.DownAt >= _tombstoneTicks)
                {
                    held.Cells.Remove(id);
                    held.Tombstones--;
                }
            }
        }
    }

    private void Live(int change)
    {
        _live += change;
        Volatile.Write(ref _counters.MeshRemoteCells, _live);
    }

    private CellVersion Next() => new(_incarnation(), ++_counter);

    private void PublishLocal(CellRecord record)
    {
        _local[record.Id] = record;
        Publish?.Invoke(record);
    }

    private Owner OwnerOf(Thid owner)
    {
        if (!_owners.TryGetValue(owner, out var held))
        {
            held = new Owner();
            _owners[owner] = held;
        }

        return held;
    }

    private void ApplyOne(Thid owner, Owner held, CellRecord record)
    {
        if (held.Cells.TryGetValue(record.Id, out var entry) ? record.Version <= entry.Version : record.Version <= held.Floor)
        {
            TransmitterCounters.Increment(ref _counters.MeshCellRecordsStale);
            return;
        }

        TransmitterCounters.Increment(ref _counters.MeshCellRecords);

        if (!record.Up)
        {
            if (entry is null)
            {
                entry = new Entry { Version = record.Version, DownAt = _clock.Now };
                held.Cells[record.Id] = entry;
                held.Tombstones++;
            }
            else
            {
                Bury(held, record.Id, entry, record.Version);
            }

            return;
        }

        var profile = new CellProfile(record.Id, record.Service) { Metadata = record.Metadata, Tags = record.Tags, Claim = record.Claim, Proof = record.Proof };
        if (entry?.Cell is { } current && current.Service == record.Service)
        {
            // Same cell, new profile: the receiver stays (watches hold it by reference), its profile's fields change.
            var described = !ReferenceEquals(current.Profile.Metadata, record.Metadata) && !JToken.DeepEquals(current.Profile.Metadata, record.Metadata)
                || !current.Profile.Tags.AsSpan().SequenceEqual(record.Tags);
            current.Profile.Metadata = record.Metadata;
            current.Profile.Tags = record.Tags;
            current.Profile.Claim = record.Claim;
            current.Profile.Proof = record.Proof;
            current.Version = record.Version;
            entry.Version = record.Version;
            SetSubscriptions(current, record.Subscriptions);
            if (described)
            {
                Updated?.Invoke(current); // a change of interest alone is no news to discovery
            }

            Claimed?.Invoke(record.Id, new CellClaim(record.Claim, owner, record.Proof));
            return;
        }

        if (entry?.Cell is { } replaced)
        {
            Close(replaced);
        }
        else if (entry is not null)
        {
            held.Tombstones--;
        }

        var cell = new RemoteCell(profile, owner, record.Version);
        held.Cells[record.Id] = new Entry { Version = record.Version, Cell = cell };
        Live(+1);
        SetSubscriptions(cell, record.Subscriptions);
        Joined?.Invoke(cell);
        Claimed?.Invoke(record.Id, new CellClaim(record.Claim, owner, record.Proof));
    }

    /// <summary>
    /// Makes a remote cell's subscriptions those of its latest record: one kept as it was (same id, pattern, mode and
    /// acknowledgement settings) stays, with its deliveries in flight; any other is ended and replaced.
    /// </summary>
    private void SetSubscriptions(RemoteCell cell, IReadOnlyList<SubscribeMessage> wanted)
    {
        var held = cell.Profile.Subscriptions;
        var keep = new HashSet<uint>();
        foreach (var sub in wanted)
        {
            if (held.TryGetValue(sub.Sub, out var current) && Same(current, sub))
            {
                keep.Add(sub.Sub);
            }
        }

        foreach (var (id, current) in held.ToList())
        {
            if (!keep.Contains(id))
            {
                End(current);
                held.Remove(id);
            }
        }

        foreach (var sub in wanted)
        {
            if (!held.ContainsKey(sub.Sub))
            {
                var subscription = new Subscription(cell, sub.Sub, sub.Pattern, sub.Mode, AcksOf(sub));
                held[sub.Sub] = subscription;
                Routes?.Add(subscription);
                Subscribed?.Invoke(subscription);
            }
        }
    }

    private AckSettings? AcksOf(SubscribeMessage sub)
    {
        if (!sub.Ack)
        {
            return null;
        }

        // The owner spells its settings out (its defaults filled in); these stand in for a record that leaves one out.
        var timeout = TimeSpan.FromMilliseconds(sub.AckTimeout ?? ProtocolDefaults.AckTimeoutMs);
        return new AckSettings((int)(sub.Prefetch ?? ProtocolDefaults.Prefetch), timeout, _clock.TicksOf(timeout), (int)(sub.MaxAttempts ?? ProtocolDefaults.MaxAttempts));
    }

    private static bool Same(Subscription held, SubscribeMessage sub) =>
        held.Pattern.Equals(sub.Pattern) && held.Mode == sub.Mode && (held.Acks is null) == !sub.Ack
        && (held.Acks is null || (held.Acks.Prefetch == sub.Prefetch && (uint)held.Acks.AckTimeout.TotalMilliseconds == sub.AckTimeout && held.Acks.MaxAttempts == sub.MaxAttempts));

    private void End(Subscription subscription)
    {
        subscription.Active = false;
        Routes?.Remove(subscription);
    }

    /// <summary>A remote cell is gone: its subscriptions leave the route table, and it is closed and raised as left.</summary>
    private void Close(RemoteCell cell)
    {
        foreach (var subscription in cell.Profile.Subscriptions.Values)
        {
            End(subscription);
        }

        cell.Closed = true;
        Live(-1);
        Left?.Invoke(cell);
    }

    private void Bury(Owner held, Thid id, Entry entry, CellVersion version)
    {
        var cell = entry.Cell;
        held.Cells[id] = new Entry { Version = version > entry.Version ? version : entry.Version, DownAt = _clock.Now };
        if (cell is not null)
        {
            held.Tombstones++;
            Close(cell);
        }
    }

    /// <summary>What is held of one owner's cells.</summary>
    private sealed class Owner
    {
        public Dictionary<Thid, Entry> Cells { get; } = [];

        /// <summary>The version of the last snapshot: anything at or below it that the snapshot did not list is down.</summary>
        public CellVersion Floor { get; set; }

        public int Tombstones { get; set; }

        /// <summary>A snapshot of this owner was applied: its whole directory is held.</summary>
        public bool Snapshotted { get; set; }
    }

    /// <summary>One cell of an owner: live (<see cref="Cell"/>) or a tombstone (down since <see cref="DownAt"/>).</summary>
    private sealed class Entry
    {
        public CellVersion Version { get; set; }

        public RemoteCell? Cell { get; init; }

        public long DownAt { get; init; }
    }
}
