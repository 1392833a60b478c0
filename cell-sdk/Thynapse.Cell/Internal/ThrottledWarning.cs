using Serilog;

namespace Thynapse.Cell.Internal;

/// <summary>
/// One warning that application code can cause as often as it likes (a token callback that throws at every
/// cancellation): logged at most <c>perWindow</c> times per window, from any thread; what was held back is counted and
/// said with the first warning of the next window. <see cref="Count"/> counts every one.
/// </summary>
/// <remarks>The transmitter limits its peers' warnings the same way (<c>LogLimiter</c>), per kind.</remarks>
internal sealed class ThrottledWarning(ILogger log, string template, TimeProvider time, int perWindow = 5, TimeSpan? window = null)
{
    private readonly Lock _gate = new();
    private readonly TimeSpan _window = window ?? TimeSpan.FromSeconds(10);
    private long _windowStart = long.MinValue;
    private int _used;
    private long _held;
    private long _count;

    /// <summary>Warnings so far, logged or not.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Logs <paramref name="error"/> (if any) with the template's one property, <paramref name="value"/>, unless this window's budget is spent.</summary>
    public void Warn(Exception? error, object? value)
    {
        Interlocked.Increment(ref _count);
        long held;
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart, now) >= _window)
            {
                _windowStart = now;
                _used = 0;
            }

            if (_used == perWindow)
            {
                _held++;
                return;
            }

            _used++;
            held = _held;
            _held = 0;
        }

        log.Warning(error, template, value);
        if (held > 0)
        {
            log.Warning("{Held} more warnings like the one before were not logged (at most {PerWindow} per {Window})", held, perWindow, _window);
        }
    }
}
