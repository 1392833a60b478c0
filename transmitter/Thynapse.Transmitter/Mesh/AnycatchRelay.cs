using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Thynapse.Core;
using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Mesh;

/// <summary>Sends a kind-3 record to an ingress: what became of its delivery <paramref name="tag"/> to <paramref name="cell"/> (a 20-byte THID).</summary>
internal delegate void OutcomeSender(Thid ingress, ReadOnlySpan<byte> cell, ulong tag, RelayOutcome outcome, string? reason);

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
/// </remarks>
internal sealed class AnycatchRelay(Func<long> now, OutcomeSender send)
{
    /// <summary>The bit that marks a tag as relayed.</summary>
    public const ulong TagBit = 1UL << 63;

    private readonly Dictionary<ulong, Entry> _entries = [];
    private readonly List<ulong> _scratch = [];
    private ulong _lastTag;
    private long _nextSweepAt;

    /// <summary>Deliveries held for other transmitters now.</summary>
    public int Count => _entries.Count;

    /// <summary>True for a tag of this table's space (relayed), in flight or not.</summary>
    public static bool Owns(ulong tag) => (tag & TagBit) != 0;

    /// <summary>True for a relayed tag this table gave out (in flight or no longer): a late answer, not an unknown one.</summary>
    public bool Issued(ulong tag) => Owns(tag) && (tag & ~TagBit) is var n && n > 0 && n <= _lastTag;

    /// <summary>A delivery <paramref name="ingress"/> tracks, to the local <paramref name="cell"/>: the tag to give the cell.</summary>
    public ulong Hold(Thid ingress, ulong ingressTag, Receiver cell, long ackTimeoutTicks)
    {
        var tag = TagBit | ++_lastTag;
        _entries[tag] = new Entry(ingress, ingressTag, cell, ackTimeoutTicks, now() + (2 * ackTimeoutTicks));
        return tag;
    }

    /// <summary>
    /// The cell's answer about relayed tag <paramref name="tag"/>: relayed to its ingress. False when no delivery of
    /// that tag is held for <paramref name="cell"/> (see <see cref="Issued"/> for whether it is late or unknown).
    /// </summary>
    public bool Answer(Receiver cell, ulong tag, RelayOutcome outcome, string? reason)
    {
        ref var held = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, tag);
        if (Unsafe.IsNullRef(ref held) || !ReferenceEquals(held.Cell, cell))
        {
            return false;
        }

        var entry = held;
        if (outcome == RelayOutcome.Progress)
        {
            held = entry with { ExpiresAt = now() + (2 * entry.AckTimeoutTicks) };
        }
        else
        {
            _entries.Remove(tag);
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

        Drop(e => ReferenceEquals(e.Cell, cell), e => send(e.Ingress, cell.Profile.IdBytes, e.IngressTag, RelayOutcome.Gone, reason));
    }

    /// <summary>An ingress is dead or left: nobody waits for its deliveries' answers (its publishers resend to another, §12.11).</summary>
    public void IngressGone(Thid ingress)
    {
        if (_entries.Count > 0)
        {
            Drop(e => e.Ingress == ingress, null);
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
            then?.Invoke(entry);
        }
    }

    /// <summary>A relayed delivery (a value in the table: holding one allocates nothing).</summary>
    private readonly record struct Entry(Thid Ingress, ulong IngressTag, Receiver Cell, long AckTimeoutTicks, long ExpiresAt);
}
