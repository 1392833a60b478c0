namespace Thynapse.Cell.Internal;

/// <summary>
/// A bounded buffer between the socket thread and user code, with its own loop that calls the observers
/// serially on the thread pool (the Rx grammar: <c>OnNext* (OnError|OnCompleted)?</c>). The socket thread only
/// ever does <see cref="TryWrite"/>, so a slow observer fills this buffer and nothing else.
/// </summary>
/// <remarks>
/// With <c>waitForFirstObserver</c>, items written before the first observer subscribes wait for it (a
/// subscription's events); without, items nobody observes are dropped (notices, state changes).
/// </remarks>
internal sealed class DispatchQueue<T>
{
    private readonly EventRing<T> _ring;
    private readonly Action<Exception> _onObserverError;
    private readonly TaskCompletionSource _firstObserver = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private IObserver<T>[] _observers = [];
    private bool _finished;
    private Exception? _error;

    /// <param name="capacity">Items buffered at most.</param>
    /// <param name="onObserverError">Told what an observer threw.</param>
    /// <param name="waitForFirstObserver">Keep items until the first observer subscribes (see the remarks).</param>
    /// <param name="readByOwner">
    /// The owner reads <see cref="Ring"/> itself and takes no observers (a handler): no observer loop runs, so that
    /// completing the queue never starts a second reader on the owner's items; <see cref="Completion"/> then
    /// completes with <see cref="Complete"/>.
    /// </param>
    public DispatchQueue(int capacity, Action<Exception> onObserverError, bool waitForFirstObserver = true, bool readByOwner = false)
    {
        _ring = new EventRing<T>(capacity); // TryWrite fails when full: the caller counts the drop
        _onObserverError = onObserverError;
        if (!waitForFirstObserver)
        {
            _firstObserver.TrySetResult();
        }

        Completion = readByOwner ? _firstObserver.Task : Task.Run(RunAsync);
    }

    /// <summary>Completes once the observers have been told the sequence ended.</summary>
    public Task Completion { get; }

    /// <summary>Items waiting for the observers.</summary>
    public int Count => _ring.Count;

    /// <summary>The ring itself: for a single consumer that reads the items instead of subscribing observers, and for runs of writes.</summary>
    public EventRing<T> Ring => _ring;

    /// <summary>Queues an item; false when the buffer is full or completed.</summary>
    public bool TryWrite(in T item) => _ring.TryWrite(item);

    /// <summary>Ends the sequence after the buffered items (with an error, if given).</summary>
    /// <remarks>Also ends a queue nobody ever observed: its items are dropped and <see cref="Completion"/> completes.</remarks>
    public void Complete(Exception? error = null)
    {
        _ring.Complete(error);
        _firstObserver.TrySetResult();
    }

    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_gate)
        {
            if (_finished)
            {
                if (_error is null)
                {
                    observer.OnCompleted();
                }
                else
                {
                    observer.OnError(_error);
                }

                return EmptyDisposable.Instance;
            }

            _observers = [.. _observers, observer];
        }

        _firstObserver.TrySetResult();
        return new Unsubscriber(this, observer);
    }

    private async Task RunAsync()
    {
        await _firstObserver.Task.ConfigureAwait(false);
        var reader = _ring;
        Exception? error = null;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    foreach (var observer in Volatile.Read(ref _observers))
                    {
                        try
                        {
                            observer.OnNext(item);
                        }
                        catch (Exception ex)
                        {
                            // An observer's bug must not end the stream for the others, nor stall the cell.
                            _onObserverError(ex);
                        }
                    }
                }
            }
        }
        catch (Exception ex)
        {
            error = ex; // the writer completed the channel with this error
        }

        IObserver<T>[] observers;
        lock (_gate)
        {
            _finished = true;
            _error = error;
            observers = _observers;
            _observers = [];
        }

        foreach (var observer in observers)
        {
            try
            {
                if (error is null)
                {
                    observer.OnCompleted();
                }
                else
                {
                    observer.OnError(error);
                }
            }
            catch (Exception ex)
            {
                _onObserverError(ex);
            }
        }
    }

    private void Remove(IObserver<T> observer)
    {
        lock (_gate)
        {
            _observers = Array.FindAll(_observers, o => !ReferenceEquals(o, observer));
        }
    }

    private sealed class Unsubscriber(DispatchQueue<T> queue, IObserver<T> observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                queue.Remove(observer);
            }
        }
    }
}

/// <summary>A disposable that does nothing.</summary>
internal sealed class EmptyDisposable : IDisposable
{
    public static readonly EmptyDisposable Instance = new();

    public void Dispose()
    {
    }
}
