namespace Thynapse.Cell.Internal;

/// <summary>
/// One handler running on one event at a time, with the event's ack deadline: the watchdog of its subscription cancels
/// the handler's token once the deadline has passed (issue 15, finding 5: a handler that never completes was never told).
/// </summary>
/// <remarks>
/// The token source is reused from event to event (a new one only after a cancellation), so a handler costs no
/// allocation; a lock makes sure a late cancellation meant for one event never reaches the next. Cancelling runs the
/// callbacks the handler registered on its token; one that throws is given to <paramref name="callbackFailed"/>, never
/// to the timer thread that cancels (an exception there would end the process).
/// </remarks>
internal sealed class HandlerSlot(Action<Exception> callbackFailed, CancellationToken stopping)
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _source = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    private long _deadline;
    private ulong _tag;

    /// <summary>A handler starts on the event of <paramref name="tag"/>, due at <paramref name="deadline"/> (<see cref="Environment.TickCount64"/>).</summary>
    public CancellationToken Begin(ulong tag, long deadline)
    {
        lock (_gate)
        {
            if (_source.IsCancellationRequested && !stopping.IsCancellationRequested)
            {
                _source.Dispose();
                _source = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            }

            _tag = tag;
            _deadline = deadline;
            return _source.Token;
        }
    }

    /// <summary>The handler has finished.</summary>
    public void End()
    {
        lock (_gate)
        {
            _deadline = 0;
            _tag = 0;
        }
    }

    /// <summary>Moves the deadline of the running event of <paramref name="tag"/> (its handler said it is in progress).</summary>
    public bool Extend(ulong tag, long deadline)
    {
        lock (_gate)
        {
            if (_tag != tag || _deadline == 0)
            {
                return false;
            }

            _deadline = deadline;
            return true;
        }
    }

    /// <summary>Cancels the running handler's token when its deadline has passed; true when it did so now.</summary>
    public bool CancelIfLate(long now)
    {
        lock (_gate)
        {
            if (_deadline == 0 || now <= _deadline || _source.IsCancellationRequested)
            {
                return false;
            }

            try
            {
                _source.Cancel();
            }
            catch (AggregateException ex)
            {
                callbackFailed(ex);
            }

            return true;
        }
    }
}
