using System.Numerics;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The anycatch events this cell handled recently, by origin and sequence number (which identify an event as its
/// THID does): a redelivered duplicate — its ack was lost — is acknowledged again without running the handler
/// twice. Thread-safe.
/// </summary>
/// <remarks>
/// An origin numbers its events in order, so each origin gets a sliding bitmap over its latest sequence numbers (an
/// anti-replay window, as in IPsec): a check or a mark is one bit near the others just used. It replaced a set of
/// the last 100,000 (origin, sequence) pairs, whose inserts and evictions missed the cache on every event and were
/// the cell's most expensive code under acknowledged load. Bounded: per origin, the latest
/// <c>capacity</c> sequence numbers (rounded up to a power of two; an origin's bitmap starts small and grows as
/// its handled events need it, up to <c>capacity</c> / 8 bytes); at most <see cref="MaxOrigins"/> origins, the one
/// marked least recently forgotten first.
/// </remarks>
internal sealed class CompletedWindow
{
    /// <summary>Origins remembered at once.</summary>
    public const int MaxOrigins = 1024;

    private readonly int _maxBits;
    private readonly Dictionary<Thid, SequenceWindow> _origins = [];
    private readonly Lock _gate = new();
    private Thid _lastOrigin;
    private SequenceWindow? _last;
    private long _marks;

    public CompletedWindow(int capacity)
    {
        _maxBits = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(capacity, SequenceWindow.InitialBits, 1 << 30));
    }

    public void Add(Thid origin, ulong sequence)
    {
        lock (_gate)
        {
            var window = Find(origin) ?? Remember(origin);
            window.LastMark = ++_marks;
            window.Add(sequence, _maxBits);
        }
    }

    public bool Contains(Thid origin, ulong sequence)
    {
        lock (_gate)
        {
            return Find(origin)?.Contains(sequence) == true;
        }
    }

    private SequenceWindow? Find(Thid origin)
    {
        // Events come in runs from one origin: skip the dictionary for them.
        if (_last is not null && _lastOrigin == origin)
        {
            return _last;
        }

        if (!_origins.TryGetValue(origin, out var window))
        {
            return null;
        }

        _lastOrigin = origin;
        _last = window;
        return window;
    }

    private SequenceWindow Remember(Thid origin)
    {
        if (_origins.Count >= MaxOrigins)
        {
            Forget(_origins.MinBy(entry => entry.Value.LastMark).Key);
        }

        var window = new SequenceWindow();
        _origins.Add(origin, window);
        _lastOrigin = origin;
        _last = window;
        return window;
    }

    private void Forget(Thid origin)
    {
        _origins.Remove(origin);
        if (_lastOrigin == origin)
        {
            _last = null;
        }
    }
}

/// <summary>
/// One origin's handled sequence numbers among its latest ones: a ring of bits where sequence <c>s</c> is bit
/// <c>s mod size</c>, covering <c>[next − size, next)</c>. Not thread-safe.
/// </summary>
internal sealed class SequenceWindow
{
    public const int InitialBits = 4096;

    private ulong[] _words = new ulong[InitialBits / 64];
    private ulong _next; // one past the highest sequence marked

    /// <summary>When this origin was last marked (for evicting the stalest origin).</summary>
    public long LastMark { get; set; }

    /// <summary>Sequence numbers the bitmap covers now.</summary>
    public int Size => _words.Length * 64;

    public bool Contains(ulong sequence) => sequence < _next && _next - sequence <= (ulong)Size && IsSet(_words, sequence);

    /// <summary>
    /// Marks <paramref name="sequence"/>, sliding the window forward if it is the newest; a sequence older than the
    /// window is not remembered. The bitmap doubles (up to <paramref name="maxBits"/>) rather than slide a marked
    /// sequence out that is still among the latest <paramref name="maxBits"/>.
    /// </summary>
    public void Add(ulong sequence, int maxBits)
    {
        if (sequence == ulong.MaxValue)
        {
            return; // no top past it; never a real publisher's number
        }

        if (sequence >= _next)
        {
            while (Size < maxBits && SlideWouldForget(sequence))
            {
                Grow();
            }

            Slide(sequence);
        }
        else if (_next - sequence > (ulong)Size)
        {
            return;
        }

        _words[Word(_words, sequence)] |= Bit(sequence);
    }

    /// <summary>True when moving the top to <paramref name="sequence"/> would reuse a slot that holds a marked sequence.</summary>
    private bool SlideWouldForget(ulong sequence)
    {
        var advance = sequence - _next + 1;
        if (advance >= (ulong)Size)
        {
            return Array.Exists(_words, word => word != 0);
        }

        for (var s = _next; s <= sequence; s++)
        {
            if (IsSet(_words, s))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Clears the slots the sequences after the top up to <paramref name="sequence"/> take over, and moves the top.</summary>
    private void Slide(ulong sequence)
    {
        if (sequence - _next + 1 >= (ulong)Size)
        {
            Array.Clear(_words);
        }
        else
        {
            for (var s = _next; s <= sequence; s++)
            {
                _words[Word(_words, s)] &= ~Bit(s);
            }
        }

        _next = sequence + 1;
    }

    private void Grow()
    {
        var grown = new ulong[_words.Length * 2];
        var oldest = _next > (ulong)Size ? _next - (ulong)Size : 0;
        for (var s = oldest; s < _next; s++)
        {
            if (IsSet(_words, s))
            {
                grown[Word(grown, s)] |= Bit(s);
            }
        }

        _words = grown;
    }

    private static bool IsSet(ulong[] words, ulong sequence) => (words[Word(words, sequence)] & Bit(sequence)) != 0;

    private static int Word(ulong[] words, ulong sequence) => (int)((sequence >> 6) & (ulong)(words.Length - 1));

    private static ulong Bit(ulong sequence) => 1UL << (int)(sequence & 63);
}
