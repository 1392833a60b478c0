using System.Threading.Tasks.Sources;

namespace Thynapse.Cell.Internal;

/// <summary>
/// A bounded ring of items from any thread (in practice the socket thread) to one consumer loop. A write costs a
/// slot and an uncontended lock; the consumer is woken only when it is waiting, and waits without allocating.
/// </summary>
/// <remarks>
/// It replaces a bounded <c>Channel&lt;T&gt;</c> on the delivery path, where a lock on each read and each write,
/// and a wake-up per item, were measurable per event. The ring starts small and doubles up to its capacity, so an
/// idle subscription holds little memory. The consumer waits either asynchronously (<see cref="WaitToReadAsync"/>)
/// or, on a thread of its own, blocking without spinning (<see cref="WaitToRead"/>).
/// </remarks>
internal sealed class EventRing<T> : IValueTaskSource<bool>
{
    private const int NotWaiting = 0;
    private const int WaitingAsync = 1;
    private const int Blocked = 2;
    private const int InitialSize = 256;
    private readonly Lock _producers = new();
    private Slots _slots;
    private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = true };
    private readonly object _sleep = new();
    private bool _woken;
    private long _head;
    private long _tail;
    private int _waiting; // NotWaiting, WaitingAsync or Blocked: who takes it back to NotWaiting completes the wait
    private volatile bool _completed;
    private Exception? _error;

    public EventRing(int capacity)
    {
        Capacity = Math.Max(1, capacity);
        _slots = new Slots((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Min(Capacity, InitialSize)));
    }

    /// <summary>Items it holds at most (a full ring refuses writes).</summary>
    public int Capacity { get; }

    /// <summary>Items waiting.</summary>
    public int Count => (int)(Volatile.Read(ref _tail) - Volatile.Read(ref _head));

    /// <summary>Adds an item; false when the ring is full or completed.</summary>
    public bool TryWrite(in T item)
    {
        bool written;
        lock (_producers)
        {
            written = TryWriteHeld(item);
        }

        if (written)
        {
            WakeConsumer();
        }

        return written;
    }

    /// <summary>
    /// Starts a run of writes by one producer (<see cref="TryWriteHeld"/>, then <see cref="EndWrites"/>): the lock is
    /// taken and the consumer woken once for the run instead of once per item. The consumer may read each item as
    /// soon as it is written; other producers wait for the end of the run.
    /// </summary>
    public void BeginWrites() => _producers.Enter();

    /// <summary>Between <see cref="BeginWrites"/> and <see cref="EndWrites"/>: adds an item; false when full or completed.</summary>
    public bool TryWriteHeld(in T item)
    {
        var tail = _tail;
        var head = Volatile.Read(ref _head);
        if (_completed || tail - head >= Capacity)
        {
            return false;
        }

        var slots = _slots;
        if (tail - head >= slots.Items.Length)
        {
            slots = Grow(slots, head, tail);
        }

        slots.Items[tail & slots.Mask] = item;
        Volatile.Write(ref _tail, tail + 1); // after the slot (and a grown array): a reader that sees the tail sees both
        return true;
    }

    /// <summary>Ends a run of writes started with <see cref="BeginWrites"/> and wakes the consumer if it waits.</summary>
    public void EndWrites()
    {
        _producers.Exit();
        WakeConsumer();
    }

    /// <summary>Consumer: takes the next item, if any.</summary>
    public bool TryRead(out T item)
    {
        var head = _head;
        if (head == Volatile.Read(ref _tail))
        {
            item = default!;
            return false;
        }

        // Read after the tail: the array then holds every item below it, even if it just grew.
        var slots = Volatile.Read(ref _slots);
        var slot = head & slots.Mask;
        item = slots.Items[slot];
        slots.Items[slot] = default!; // let the item (and the frame buffer its body points into) be collected
        Volatile.Write(ref _head, head + 1);
        return true;
    }

    /// <summary>Consumer: completes true when an item is there, false when the ring was completed and is empty.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        while (true)
        {
            if (_head != Volatile.Read(ref _tail))
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
            }

            _signal.Reset();
            Interlocked.Exchange(ref _waiting, WaitingAsync); // a full fence: producers that write after this see us waiting
            if (_head != Volatile.Read(ref _tail) || _completed)
            {
                if (Interlocked.Exchange(ref _waiting, NotWaiting) == WaitingAsync)
                {
                    continue; // we took the wait back ourselves; look again
                }

                // A producer took it and completes the signal: wait for that.
            }

            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    /// <summary>
    /// Consumer on a thread of its own: blocks until an item is there (true) or the ring was completed and is empty
    /// (false; throws the completion's error, if any).
    /// </summary>
    /// <remarks>
    /// No spinning before it sleeps: on a machine with few cores a spinning consumer takes the CPU its producer (the
    /// socket thread, and NetMQ's I/O thread behind it) needs, and a handler loop sleeps once per delivery frame.
    /// </remarks>
    public bool WaitToRead()
    {
        while (true)
        {
            if (_head != Volatile.Read(ref _tail))
            {
                return true;
            }

            if (_completed)
            {
                if (_error is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error);
                }

                return false;
            }

            lock (_sleep)
            {
                Interlocked.Exchange(ref _waiting, Blocked); // a full fence, as in WaitToReadAsync
                if ((_head != Volatile.Read(ref _tail) || _completed) && Interlocked.Exchange(ref _waiting, NotWaiting) == Blocked)
                {
                    continue; // took the wait back ourselves; look again
                }

                // A producer took the wait (now or later) and sets _woken under this lock, which Wait releases.
                while (!_woken)
                {
                    Monitor.Wait(_sleep);
                }

                _woken = false;
            }
        }
    }

    /// <summary>Refuses further writes; the consumer drains what is there, then sees the end (or the error).</summary>
    public void Complete(Exception? error = null)
    {
        lock (_producers)
        {
            if (_completed)
            {
                return;
            }

            _error = error;
            _completed = true;
        }

        WakeConsumer();
    }

    /// <summary>Under the producers' lock: a twice larger array holding the same items at the same positions.</summary>
    private Slots Grow(Slots slots, long head, long tail)
    {
        var grown = new Slots(slots.Items.Length * 2);
        for (var i = head; i < tail; i++)
        {
            grown.Items[i & grown.Mask] = slots.Items[i & slots.Mask];
        }

        Volatile.Write(ref _slots, grown);
        return grown;
    }

    private void WakeConsumer()
    {
        // Pairs with the consumer's exchange: our store of the tail (or of _completed) before our read of _waiting.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _waiting) == NotWaiting)
        {
            return;
        }

        switch (Interlocked.Exchange(ref _waiting, NotWaiting))
        {
            case WaitingAsync:
                _signal.SetResult(true);
                break;
            case Blocked:
                lock (_sleep)
                {
                    _woken = true;
                    Monitor.Pulse(_sleep);
                }

                break;
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    private sealed class Slots(int size)
    {
        public T[] Items { get; } = new T[size];

        public long Mask { get; } = size - 1;
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);
}
