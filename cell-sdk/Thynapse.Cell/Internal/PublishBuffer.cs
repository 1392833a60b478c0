using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Where publishing threads leave events for the socket thread, as <c>B EVNT</c> records (see <see cref="FrameQueue"/>),
/// with the publishes awaiting an answer and what a resend after a reconnect needs.
/// </summary>
/// <remarks>
/// Bounded by <see cref="CellOptions.MaxPendingPublishBytes"/>: when the socket cannot keep up, publishers wait
/// for room (up to a timeout) instead of growing memory without limit.
/// </remarks>
internal sealed class PublishBuffer(int batchBytes, long maxPendingBytes, Action wake) : FrameQueue(Command.Evnt, batchBytes, wake)
{
    private readonly Dictionary<ulong, Awaited> _awaiting = [];
    private long _pendingBytes;
    // Numbering starts at the current time in microseconds, not 1: a cell that keeps its THID across restarts
    // (CellOptions.Id) must not reuse (origin, seq) pairs, which identify events for deduplication (PROTOCOL.md §4.3).
    private ulong _sequence = (ulong)((DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10);
    private bool _closed;
    private long _unsentAtClose;

    /// <summary>
    /// Appends one event and returns its sequence number. With <paramref name="answer"/>, the transmitter is asked
    /// to confirm (<see cref="EventRecordFlags.Confirm"/>) or to report completion (<see cref="EventRecordFlags.Completion"/>).
    /// </summary>
    /// <exception cref="ThynapseTimeoutException">No room appeared within <paramref name="timeout"/>.</exception>
    public ulong Append(
        string channel,
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> extension,
        ReadOnlySpan<byte> body,
        EventRecordFlags flags,
        TaskCompletionSource<PublishAnswer>? answer,
        TimeSpan timeout)
    {
        var size = EventRecordWriter.SizeOf(channel.Length, key.Length, extension.Length, body.Length);
        ulong sequence;
        bool wakeNow;
        lock (Gate)
        {
            WaitForRoom(timeout);
            sequence = ++_sequence;
            wakeNow = Write(sequence, channel, key, extension, body, flags, size, out var frame);
            if (answer is not null)
            {
                // A completion must survive a lost session, so it keeps what a resend needs.
                var resend = (flags & EventRecordFlags.Completion) != 0 ? new Resend(channel, key.ToArray(), extension.ToArray(), body.ToArray(), flags) : null;
                _awaiting.Add(sequence, new Awaited(answer, resend) { Frame = frame, Generation = frame.Generation });
            }
        }

        if (wakeNow)
        {
            Wake();
        }

        return sequence;
    }

    /// <summary>Completes an awaited publish; false when nobody awaits that sequence number.</summary>
    public bool TryAnswer(ulong sequence, PublishAnswer answer)
    {
        Awaited? awaited;
        lock (Gate)
        {
            _awaiting.Remove(sequence, out awaited);
        }

        return awaited is not null && awaited.Answer.TrySetResult(answer);
    }

    /// <summary>Fails an awaited publish; false when nobody awaits that sequence number.</summary>
    public bool TryFail(ulong sequence, Exception error)
    {
        Awaited? awaited;
        lock (Gate)
        {
            _awaiting.Remove(sequence, out awaited);
        }

        return awaited is not null && awaited.Answer.TrySetException(error);
    }

    /// <summary>Stops waiting for an answer (the caller gave up).</summary>
    public void Forget(ulong sequence)
    {
        lock (Gate)
        {
            _awaiting.Remove(sequence);
        }
    }

    /// <summary>
    /// The session was lost. Publishes already handed to the socket that await only acceptance fail (their outcome
    /// will never be known); those awaiting completion are written again, with the same sequence number and the
    /// <see cref="EventRecordFlags.Resend"/> flag, to go out after the cell is welcomed again (a transmitter routes a
    /// resend to acknowledging anycatch only, so multicatch catchers never get it twice: PROTOCOL.md §4.5). Those still
    /// buffered go out after the welcome as they are. With <paramref name="all"/> (the cell is closing) every one fails.
    /// </summary>
    public void SessionLost(Exception error, bool all = false)
    {
        List<Awaited> failed = [];
        var wakeNow = false;
        lock (Gate)
        {
            foreach (var (sequence, awaited) in _awaiting.OrderBy(p => p.Key).ToList())
            {
                if (!all && awaited.Frame.Generation == awaited.Generation)
                {
                    continue; // its frame never left: it goes out after the re-join
                }

                if (!all && awaited.Resend is { } resend)
                {
                    var size = EventRecordWriter.SizeOf(resend.Channel.Length, resend.Key.Length, resend.Extension.Length, resend.Body.Length);
                    wakeNow |= Write(sequence, resend.Channel, resend.Key, resend.Extension, resend.Body, resend.Flags | EventRecordFlags.Resend, size, out var frame);
                    awaited.Frame = frame;
                    awaited.Generation = frame.Generation;
                    continue;
                }

                failed.Add(awaited);
                _awaiting.Remove(sequence);
            }
        }

        foreach (var awaited in failed)
        {
            awaited.Answer.TrySetException(error);
        }

        if (wakeNow)
        {
            Wake();
        }
    }

    /// <summary>Events still buffered when the buffer was closed: they were never sent (review finding 15).</summary>
    public long UnsentAtClose => Interlocked.Read(ref _unsentAtClose);

    /// <summary>Refuses further appends and wakes publishers waiting for room; returns the events that were never sent.</summary>
    public int Close()
    {
        lock (Gate)
        {
            _closed = true;
            Monitor.PulseAll(Gate);
        }

        var unsent = UnsentRecords();
        Interlocked.Add(ref _unsentAtClose, unsent);
        return unsent;
    }

    /// <inheritdoc />
    protected override void OnSent(FrameBatch batch)
    {
        _pendingBytes = Math.Max(0, _pendingBytes - (batch.Length - FrameHeader.PayloadOffset));
        Monitor.PulseAll(Gate);
    }

    private bool Write(ulong sequence, string channel, ReadOnlySpan<byte> key, ReadOnlySpan<byte> extension, ReadOnlySpan<byte> body, EventRecordFlags flags, int size, out FrameBatch frame)
    {
        frame = FrameFor(size);
        var before = frame.Length;
        EventRecordWriter.Write(frame, flags, sequence, channel, key, extension, body); // leaves a repeated channel out
        frame.Watermark = Math.Max(frame.Watermark, sequence);
        _pendingBytes += frame.Length - before;
        return Written(frame);
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
            if ((left <= 0 || !Monitor.Wait(Gate, TimeSpan.FromMilliseconds(left))) && _pendingBytes >= maxPendingBytes)
            {
                throw new ThynapseTimeoutException(
                    $"The publish buffer stayed full ({_pendingBytes} bytes) for {timeout}: the transmitter is not taking events.");
            }
        }

        if (_closed)
        {
            ThynapseException.ThrowClosed();
        }
    }

    private sealed record Awaited(TaskCompletionSource<PublishAnswer> Answer, Resend? Resend)
    {
        /// <summary>The frame the event was (last) written into, and its generation then: it left once they differ.</summary>
        public FrameBatch Frame { get; set; } = null!;

        public int Generation { get; set; }
    }

    private sealed record Resend(string Channel, byte[] Key, byte[] Extension, byte[] Body, EventRecordFlags Flags);
}

/// <summary>What the transmitter answered to an awaited publish.</summary>
/// <param name="Status">Accepted, no receiver, or completed.</param>
/// <param name="Receivers">How many cells it was handed to.</param>
internal readonly record struct PublishAnswer(PublishStatus Status, int Receivers);
