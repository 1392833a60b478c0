using NetMQ;
using Serilog;
using Thynapse.Core.Internal;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The cell's one socket thread: a <see cref="NetMQPoller"/> that owns the cell's sockets, runs the work handed to it
/// from any thread (<see cref="Post"/>), ticks a timer, and keeps a clock that leaves out the thread's own stalls.
/// </summary>
/// <remarks>
/// Every engine documented as "socket thread" (the link, its outbox, the requests,
/// …) is touched only from here, so it needs no lock. Work and timer callbacks are <see cref="Guarded"/>: a bug in
/// them is logged rather than let escape into NetMQ's loop, which would end the thread and, inside the application,
/// its process.
/// </remarks>
internal sealed class SocketThread : IDisposable
{
    private readonly ILogger _log;
    private readonly NetMQPoller _poller;
    private readonly NetMQQueue<Action> _work = new();
    private readonly NetMQTimer _timer = new(TimeSpan.FromSeconds(1));
    private readonly StallAwareClock _clock = new(TimeProvider.System, TimeSpan.FromSeconds(2));
    private volatile bool _stopped;

    /// <param name="log">Where failures of its work are logged.</param>
    /// <param name="tick">Run at every tick of the timer (<see cref="TickInterval"/>).</param>
    public SocketThread(ILogger log, Action tick)
    {
        _log = log;
        _work.ReceiveReady += (_, e) =>
        {
            while (e.Queue.TryDequeue(out var action, TimeSpan.Zero))
            {
                Guarded("queued work", action);
            }
        };
        _timer.Elapsed += (_, _) => Guarded("periodic work", tick);
        _poller = [_work];
        _poller.Add(_timer);
    }

    /// <summary>The poller that sockets of this thread are added to.</summary>
    public NetMQPoller Poller => _poller;

    /// <summary>Socket thread: milliseconds between ticks.</summary>
    public int TickInterval
    {
        set => _timer.Interval = value;
    }

    /// <summary>Socket thread: the longest gap between two readings of <see cref="Now"/> that counts in full.</summary>
    public TimeSpan MaxClockStep
    {
        set => _clock.MaxStep = value;
    }

    /// <summary>Socket thread: milliseconds on a clock that does not count this thread's own stalls (see <see cref="StallAwareClock"/>).</summary>
    public long Now() => _clock.Advance() * 1000 / _clock.Frequency;

    /// <summary>Starts the thread.</summary>
    public void Start() => _poller.RunAsync("thynapse-cell", isBackgroundThread: true);

    /// <summary>
    /// Any thread: hands <paramref name="action"/> to the socket thread; false once the thread is stopped (a queue that
    /// is gone must never block or throw at the caller: issue 15, finding 3).
    /// </summary>
    public bool Post(Action action)
    {
        if (_stopped)
        {
            return false;
        }

        try
        {
            _work.Enqueue(action);
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="action"/>, logging what it throws instead of letting it end the thread.</summary>
    public void Guarded(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _log.Error(ex, "Failed at {Work}; the cell goes on", what);
        }
    }

    /// <summary>Any thread: stops the thread; from here on, work is dropped, never queued.</summary>
    public Task StopAsync()
    {
        _stopped = true;
        return Task.Run(() =>
        {
            if (_poller.IsRunning)
            {
                _poller.Stop();
            }
        });
    }

    /// <summary>After <see cref="StopAsync"/>: disposes the poller and the queue.</summary>
    public void Dispose()
    {
        _poller.Dispose();
        _work.Dispose();
    }
}
