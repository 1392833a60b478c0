using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Binary frames filled by any thread and sent by the socket thread: records go into the current frame, a full
/// frame waits in line, and the socket thread is woken only when the queue goes from empty to not empty, so an
/// idle cell sends each record at once while a busy one sends full frames.
/// </summary>
/// <remarks>Subclasses append under <see cref="Gate"/> through <see cref="FrameFor"/> and <see cref="Written"/>.</remarks>
internal abstract class FrameQueue(Command command, int batchBytes, Action wake)
{
    private int _batchBytes = batchBytes;
    private readonly Queue<FrameBatch> _returned = new();
    private readonly Queue<FrameBatch> _ready = new();
    private readonly Stack<FrameBatch> _spare = new();
    private FrameBatch _current = new(command);
    private bool _woken;

    /// <summary>Bytes of records per frame; lowered to what the transmitter accepts once it says (<c>WLCM.limits.frame</c>).</summary>
    public int BatchBytes
    {
        get => Volatile.Read(ref _batchBytes);
        set => Volatile.Write(ref _batchBytes, Math.Max(1024, value));
    }

    /// <summary>Guards everything here and what subclasses keep alongside.</summary>
    protected object Gate { get; } = new();

    /// <summary>Socket thread: the next frame to send, or null when all were taken (the next record then wakes it).</summary>
    public FrameBatch? TakeNext()
    {
        lock (Gate)
        {
            if (_returned.TryDequeue(out var batch) || _ready.TryDequeue(out batch))
            {
                return batch;
            }

            if (!_current.IsEmpty)
            {
                batch = _current;
                _current = NewBatch();
                return batch;
            }

            _woken = false;
            return null;
        }
    }

    /// <summary>Socket thread: a frame was sent; it is reused.</summary>
    public void Release(FrameBatch batch)
    {
        lock (Gate)
        {
            OnSent(batch);
            batch.Reset();
            _spare.Push(batch);
        }
    }

    /// <summary>
    /// Socket thread: a frame taken with <see cref="TakeNext"/> did not leave (its link closed first): it goes back to
    /// the front of the line, before those not taken yet, to leave first on the next link. Call in the order taken.
    /// </summary>
    public void PutBack(FrameBatch batch)
    {
        lock (Gate)
        {
            _returned.Enqueue(batch);
        }
    }

    /// <summary>Records waiting to be sent: in frames put back, ready, or being filled.</summary>
    public int UnsentRecords()
    {
        lock (Gate)
        {
            return _returned.Sum(b => b.Records) + _ready.Sum(b => b.Records) + _current.Records;
        }
    }

    /// <summary>Drops every frame not yet sent (what they carry belonged to a session that is gone).</summary>
    public void Clear()
    {
        lock (Gate)
        {
            while (_returned.TryDequeue(out var batch) || _ready.TryDequeue(out batch))
            {
                batch.Reset();
                _spare.Push(batch);
            }

            _current.Reset();
            _woken = false;
        }
    }

    /// <summary>Under <see cref="Gate"/>: what a subclass does when a frame has left (free room, note progress).</summary>
    protected virtual void OnSent(FrameBatch batch)
    {
    }

    /// <summary>Under <see cref="Gate"/>: the frame a record of <paramref name="size"/> bytes goes into.</summary>
    protected FrameBatch FrameFor(int size)
    {
        if (!_current.IsEmpty && _current.Length + size > _batchBytes)
        {
            _ready.Enqueue(_current);
            _current = NewBatch();
        }

        return _current;
    }

    /// <summary>Under <see cref="Gate"/>: a record was written; returns true when the socket thread must be woken (after leaving the lock).</summary>
    protected bool Written(FrameBatch batch)
    {
        batch.RecordWritten();
        var wakeNow = !_woken;
        _woken = true;
        return wakeNow;
    }

    /// <summary>Under <see cref="Gate"/>: a record was written that waits for <see cref="WakeIfPending"/> (or a later wake).</summary>
    protected static void WrittenQuietly(FrameBatch batch) => batch.RecordWritten();

    /// <summary>Wakes the socket thread if records wait and it was not woken for them yet.</summary>
    public void WakeIfPending()
    {
        lock (Gate)
        {
            if (_woken || (_ready.Count == 0 && _current.IsEmpty))
            {
                return;
            }

            _woken = true;
        }

        wake();
    }

    /// <summary>Wakes the socket thread (call outside <see cref="Gate"/>).</summary>
    protected void Wake() => wake();

    private FrameBatch NewBatch() => _spare.Count > 0 ? _spare.Pop() : new FrameBatch(command);
}
