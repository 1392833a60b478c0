using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Thynapse.Core;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Mesh;

/// <summary>Sends a kind-3 record to an ingress: what became of its delivery <paramref name="tag"/> to <paramref name="cell"/> (a 20-byte THID).</summary>
internal delegate void OutcomeSender(Thid ingress, ReadOnlySpan<byte> cell, ulong tag, RelayOutcome outcome, string? reason);

/// <summary>Sends a kind-4 record: the load of a local cell's <paramref name="subscription"/>, to <paramref name="ingress"/> (null: to every serving member), with the highest of the receiver's tags seen here.</summary>
internal delegate void LoadSender(Thid? ingress, Subscription subscription, Func<Thid, ulong> seenOf);

/// <summary>
/// The holder's half of acknowledged anycatch across transmitters (PROTOCOL.md §12.11): an ingress owns the pending
/// entry (attempts, deadline, redelivery, dead letters) and forwards each attempt to the chosen cell's transmitter; this
/// transmitter hands it to the cell under a tag of its own and relays the cell's <c>ACKN</c>, <c>NACK</c> and
/// <c>PROG</c> back to the ingress under the ingress's tag, and <c>Gone</c> when the cell leaves while holding it.
/// </summary>
/// <remarks>
/// Relayed tags have the top bit set, so that the tracker tells them from its own with a bit test and this table is
/// looked at only for them. An entry lives until the cell answers, leaves, or its ingress is gone, and at most twice
/// the subscription's ack timeout past the last news of it (by then the ingress timed it out and redelivered: a later
/// ack is a late ack, as on one transmitter). Pure and clock-driven; routing thread only.
/// <para>
/// It also sends the holder's half of load gossip (§12.11): after a burst in which a cell answered an ingress, that
/// ingress gets the cell's load (<see cref="Subscription.Load"/>: what it holds from every ingress) with the highest of
/// the ingress's tags seen here; every tick, each member gets the loads that changed since the last tick.
/// </para>
/// </remarks>
internal sealed class AnycatchRelay(Func<long> now, OutcomeSender send, LoadSender? reportLoad = null)
{
    /// <summary>The bit that marks a tag as relayed.</summary>
    public const ulong TagBit = 1UL << 63;

    private readonly Dictionary<ulong, Entry> _entries = [];
    private readonly List<ulong> _scratch = [];
    private readonly Dictionary<Thid, ulong> _seen = [];
    private readonly HashSet<(Thid Ingress, Subscription Subscription)> _answered = [];
    private readonly HashSet<Subscription> _relaying = [];
    private readonly Dictionary<Subscription, int> _gossiped = [];
    private readonly List<Subscription> _changed = [];
    private Func<Thid, ulong>? _seenOf;
    private ulong _lastTag;
    private long _nextSweepAt;

    /// <summary>Deliveries held for other transmitters now.</summary>
    public int Count => _entries.Count;

    /// <summary>True for a tag of this table's space (relayed), in flight or not.</summary>
    public static bool Owns(ulong tag) => (tag & TagBit) != 0;

    /// <summary>True for a relayed tag this table gave out (in flight or no longer): a late answer, not an unknown one.</summary>
    public bool Issued(ulong tag) => Owns(tag) && (tag & ~TagBit) is var n && n > 0 && n <= _lastTag;

    /// <summary>A delivery <paramref name="ingress"/> tracks, to the local cell of <paramref name="subscription"/>: the tag to give the cell.</summary>
    public ulong Hold(Thid ingress, ulong ingressTag, Subscription subscription)
    {
        var tag = TagBit | ++_lastTag;
        var ackTimeoutTicks = subscription.Acks!.AckTimeoutTicks;
        _entries[tag] = new Entry(ingress, ingressTag, subscription, ackTimeoutTicks, now() + (2 * ackTimeoutTicks));
        if (subscription.Relayed == 0)
        {
            _relaying.Add(subscription);
        }

        subscription.RelayHeld();

        // An ingress's tags grow, and its records come in order on its stream: all of its up to this one are here.
        ref var seen = ref CollectionsMarshal.GetValueRefOrAddDefault(_seen, ingress, out _);
        seen = Math.Max(seen, ingressTag);
        return tag;
    }

    /// <summary>
    /// The cell's answer about relayed tag <paramref name="tag"/>: relayed to its ingress. False when no delivery of
    /// that tag is held for <paramref name="cell"/> (see <see cref="Issued"/> for whether it is late or unknown).
    /// </summary>
    public bool Answer(Receiver cell, ulong tag, RelayOutcome outcome, string? reason) => Answer(cell, tag, outcome, reason, out _);

    /// <summary>As <see cref="Answer(Receiver, ulong, RelayOutcome, string?)"/>, with the subscription that held the delivery (its room may have grown).</summary>
    public bool Answer(Receiver cell, ulong tag, RelayOutcome outcome, string? reason, [NotNullWhen(true)] out Subscription? subscription)
    {
        subscription = null;
        ref var held = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, tag);
        if (Unsafe.IsNullRef(ref held) || !ReferenceEquals(held.Subscription.Receiver, cell))
        {
            return false;
        }

        subscription = held.Subscription;

        var entry = held;
        if (outcome == RelayOutcome.Progress)
        {
            held = entry with { ExpiresAt = now() + (2 * entry.AckTimeoutTicks) };
        }
        else
        {
            _entries.Remove(tag);
            Released(entry.Subscription);
            _answered.Add((entry.Ingress, entry.Subscription));
        }

        send(entry.Ingress, cell.Profile.IdBytes, entry.IngressTag, outcome, reason);
        return true;
    }

    /// <summary>A local cell is gone: each ingress is told its deliveries there were not handled (<c>Gone</c>), to redeliver them.</summary>
    public void CellGone(Receiver cell, string reason)
    {
        if (_entries.Count == 0)
        {
            return;
        }

        Drop(e => ReferenceEquals(e.Subscription.Receiver, cell), e => send(e.Ingress, cell.Profile.IdBytes, e.IngressTag, RelayOutcome.Gone, reason));
    }

    /// <summary>An ingress is dead or left: nobody waits for its deliveries' answers (its publishers resend to another, §12.11).</summary>
    public void IngressGone(Thid ingress)
    {
        _seen.Remove(ingress);
        _answered.RemoveWhere(a => a.Ingress == ingress);
        if (_entries.Count > 0)
        {
            Drop(e => e.Ingress == ingress, null);
        }
    }

    /// <summary>The end of a burst: each ingress a cell answered in it gets that cell's load (kind 4).</summary>
    public void ReportLoads()
    {
        if (_answered.Count == 0)
        {
            return;
        }

        if (reportLoad is not null)
        {
            foreach (var (ingress, subscription) in _answered)
            {
                reportLoad(ingress, subscription, _seenOf ??= SeenOf);
                // One ingress now knows a load the others may not: the next gossip tells every member, whatever it is
                // then (else a load told to one and back to its gossiped value by the tick would stay stale there).
                _gossiped[subscription] = -1;
            }
        }

        _answered.Clear();
    }

    /// <summary>
    /// Load gossip (each tick): every serving member gets the load of each local acknowledging subscription whose load
    /// changed since the last gossip — those holding deliveries (<paramref name="holding"/>: this transmitter's own;
    /// relayed ones), and those last gossiped busy, until they are told idle.
    /// </summary>
    public void GossipLoads(IEnumerable<Subscription> holding)
    {
        if (reportLoad is null)
        {
            return;
        }

        _changed.Clear();
        foreach (var subscription in holding)
        {
            Consider(subscription);
        }

        foreach (var subscription in _relaying)
        {
            Consider(subscription);
        }

        foreach (var subscription in _gossiped.Keys)
        {
            Consider(subscription);
        }

        foreach (var subscription in _changed)
        {
            var load = subscription.Load;
            reportLoad(null, subscription, _seenOf ??= SeenOf);
            if (load == 0 || !subscription.Active)
            {
                _gossiped.Remove(subscription);
            }
            else
            {
                _gossiped[subscription] = load;
            }
        }

        void Consider(Subscription subscription)
        {
            if (subscription.Receiver is LocalCell && subscription.Acks is not null && !_changed.Contains(subscription)
                && subscription.Load != (_gossiped.TryGetValue(subscription, out var last) ? last : 0))
            {
                _changed.Add(subscription);
            }
        }
    }

    /// <summary>Forgets entries past their expiry (looked for at most once per the shortest ack timeout held).</summary>
    public void Tick()
    {
        var at = now();
        if (at < _nextSweepAt || _entries.Count == 0)
        {
            return;
        }

        _nextSweepAt = at + Math.Max(1, _entries.Values.Min(e => e.AckTimeoutTicks));
        Drop(e => e.ExpiresAt <= at, null);
    }

    private void Drop(Func<Entry, bool> which, Action<Entry>? then)
    {
        _scratch.Clear();
        foreach (var (tag, entry) in _entries)
        {
            if (which(entry))
            {
                _scratch.Add(tag);
            }
        }

        foreach (var tag in _scratch)
        {
            _entries.Remove(tag, out var entry);
            Released(entry.Subscription);
            then?.Invoke(entry);
        }
    }

    /// <summary>The highest tag of <paramref name="ingress"/> seen here (0: none).</summary>
    public ulong SeenOf(Thid ingress) => _seen.GetValueOrDefault(ingress);

    private void Released(Subscription subscription)
    {
        subscription.RelayReleased();
        if (subscription.Relayed == 0)
        {
            _relaying.Remove(subscription);
        }
    }

    /// <summary>A relayed delivery (a value in the table: holding one allocates nothing).</summary>
    private readonly record struct Entry(Thid Ingress, ulong IngressTag, Subscription Subscription, long AckTimeoutTicks, long ExpiresAt);
}
