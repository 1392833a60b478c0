using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Where publishing threads leave events for the socket thread. Events are appended as binary records into
/// the current <c>B EVNT</c> frame; the socket thread is woken only when the buffer goes from empty to not empty,
/// so an idle cell sends each event at once while a busy one sends full frames.
/// </summary>
/// <remarks>
/// Bounded by <see cref="CellOptions.MaxPendingPublishBytes"/>: when the socket cannot keep up, publishers wait
/// for room (up to a timeout) instead of growing memory without limit.
/// </remarks>
internal sealed class PublishBuffer(int batchBytes, long maxPendingBytes, Action wake)
{
    private readonly object _lock = new();
    private readonly Queue<FrameBatch> _ready = new();
    private readonly Stack<FrameBatch> _spare = new();
    private readonly Dictionary<ulong, TaskCompletionSource<(PublishStatus Status, int Receivers)>> _awaiting = [];
    private FrameBatch _current = new(Command.Evnt);
    private long _pendingBytes;
    private ulong _sequence;
    private ulong _sentThrough;
    private bool _woken;
    private bool _closed;

    /// <summary>
    /// Appends one event and returns its sequence number. With <paramref name="confirmation"/>, the transmitter is
    /// asked to confirm and the source is completed when it does.
    /// </summary>
    /// <exception cref="ThynapseTimeoutException">No room appeared within <paramref name="timeout"/>.</exception>
    public ulong Append(
        ReadOnlySpan<char> channel,
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> body,
        TaskCompletionSource<(PublishStatus, int)>? confirmation,
        TimeSpan timeout)
    {
        var size = EventRecordWriter.SizeOf(channel.Length, key.Length, 0, body.Length);
        ulong sequence;
        bool wakeSocketThread;
        lock (_lock)
        {
            WaitForRoom(timeout);
            sequence = ++_sequence;
            if (!_current.IsEmpty && _current.Length + size > batchBytes)
            {
                _ready.Enqueue(_current);
                _current = _spare.Count > 0 ? _spare.Pop() : new FrameBatch(Command.Evnt);
            }

            EventRecordWriter.Write(_current, confirmation is not null, sequence, channel, key, default, body);
            _current.RecordWritten();
            _current.Watermark = sequence;
            _pendingBytes += size;
            if (confirmation is not null)
            {
                _awaiting.Add(sequence, confirmation);
            }

            wakeSocketThread = !_woken;
            _woken = true;
        }

        if (wakeSocketThread)
        {
            wake();
        }

        return sequence;
    }

    /// <summary>Socket thread: the next frame to send, or null when everything was taken (and the next append wakes it).</summary>
    public FrameBatch? TakeNext()
    {
        lock (_lock)
        {
            if (_ready.TryDequeue(out var batch))
            {
                return batch;
            }

            if (!_current.IsEmpty)
            {
                batch = _current;
                _current = _spare.Count > 0 ? _spare.Pop() : new FrameBatch(Command.Evnt);
                return batch;
            }

            _woken = false;
            return null;
        }
    }

    /// <summary>Socket thread: a frame was sent; its room is free again.</summary>
    public void Release(FrameBatch batch)
    {
        lock (_lock)
        {
            _sentThrough = Math.Max(_sentThrough, batch.Watermark);
            _pendingBytes -= batch.Length - FrameHeader.PayloadOffset;
            batch.Reset();
            _spare.Push(batch);
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Completes an awaited publish; false when nobody awaits that sequence number.</summary>
    public bool TryConfirm(ulong sequence, PublishStatus status, int receivers)
    {
        TaskCompletionSource<(PublishStatus, int)>? confirmation;
        lock (_lock)
        {
            _awaiting.Remove(sequence, out confirmation);
        }

        return confirmation is not null && confirmation.TrySetResult((status, receivers));
    }

    /// <summary>Fails an awaited publish; false when nobody awaits that sequence number.</summary>
    public bool TryFail(ulong sequence, Exception error)
    {
        TaskCompletionSource<(PublishStatus, int)>? confirmation;
        lock (_lock)
        {
            _awaiting.Remove(sequence, out confirmation);
        }

        return confirmation is not null && confirmation.TrySetException(error);
    }

    /// <summary>Stops waiting for a confirmation (the caller gave up).</summary>
    public void Forget(ulong sequence)
    {
        lock (_lock)
        {
            _awaiting.Remove(sequence);
        }
    }

    /// <summary>
    /// Fails the awaited publishes already handed to the socket (<paramref name="all"/>: every one): the session was
    /// lost, so their outcome will never be known. Those still buffered go out after the cell is welcomed again.
    /// </summary>
    public void FailSent(Exception error, bool all = false)
    {
        List<TaskCompletionSource<(PublishStatus, int)>> failed = [];
        lock (_lock)
        {
            foreach (var (sequence, confirmation) in _awaiting)
            {
                if (all || sequence <= _sentThrough)
                {
                    failed.Add(confirmation);
                }
            }

            foreach (var sequence in _awaiting.Keys.Where(s => all || s <= _sentThrough).ToList())
            {
                _awaiting.Remove(sequence);
            }
        }

        foreach (var confirmation in failed)
        {
            confirmation.TrySetException(error);
        }
    }

    /// <summary>Refuses further appends and wakes publishers waiting for room.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            Monitor.PulseAll(_lock);
        }
    }

    private void WaitForRoom(TimeSpan timeout)
    {
        if (_closed)
        {
            ThynapseException.ThrowClosed();
        }

        if (_pendingBytes < maxPendingBytes)
        {
            return;
        }

        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (_pendingBytes >= maxPendingBytes && !_closed)
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0 || !Monitor.Wait(_lock, TimeSpan.FromMilliseconds(left)))
            {
                if (_pendingBytes >= maxPendingBytes)
                {
                    throw new ThynapseTimeoutException(
                        $"The publish buffer stayed full ({_pendingBytes} bytes) for {timeout}: the transmitter is not taking events.");
                }
            }
        }

        if (_closed)
        {
            ThynapseException.ThrowClosed();
        }
    }
}
