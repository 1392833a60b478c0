using Serilog;

namespace Thynapse.Core;

/// <summary>
/// Warnings that others can cause as often as they like (a hostile or broken peer, an application callback that throws
/// at every cancellation), limited per kind: at most <c>perWindow</c> of a kind are logged per window, so that one
/// cannot flood the log and one kind cannot silence another; what was held back is said once the window is over.
/// <see cref="Count"/> counts every warning. The transmitter and the SDK both limit their warnings with it.
/// </summary>
/// <remarks>
/// Two ways to use it. <see cref="Allow"/> leaves the warning to the caller: the holdbacks of a window that ended are
/// summarised first, by kind, at the next warning of the kind or at the next <see cref="Tick"/>, whichever comes first.
/// <see cref="Warn"/> logs the warning itself and, after it, how many like it were held back since the last one logged.
/// Thread-safe. Measured before (issue 15, findings 6 and 14): one limiter of 20 warnings per 100 ms tick let 726
/// "Redelivering" warnings through in one run, and while input was held the ticks, and with them the summaries, stopped.
/// </remarks>
public class RateLimitedLog
{
    private readonly Lock _gate = new();
    private readonly ILogger _log;
    private readonly Func<long> _now;
    private readonly long _frequency;
    private readonly string[] _kinds;
    private readonly int _perWindow;
    private readonly long _windowTicks;
    private readonly int[] _used;
    private readonly long[] _held;
    private readonly long[] _count;
    private readonly long[] _windowStart;

    /// <summary>A limit on warnings of <paramref name="kinds"/> (numbered by their index), on a clock of <paramref name="frequency"/> ticks per second.</summary>
    /// <param name="log">Where the warnings and the summaries go.</param>
    /// <param name="now">The clock's timestamp.</param>
    /// <param name="frequency">The clock's ticks per second.</param>
    /// <param name="kinds">The names of the kinds, as summaries say them.</param>
    /// <param name="perWindow">Warnings of one kind logged per window.</param>
    /// <param name="window">The window (default: 10 s).</param>
    public RateLimitedLog(ILogger log, Func<long> now, long frequency, IReadOnlyList<string> kinds, int perWindow, TimeSpan? window = null)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        _log = log ?? throw new ArgumentNullException(nameof(log));
        _now = now ?? throw new ArgumentNullException(nameof(now));
        _frequency = frequency;
        _kinds = [.. kinds];
        _perWindow = perWindow;
        _windowTicks = (long)((window ?? TimeSpan.FromSeconds(10)).TotalSeconds * frequency);
        _used = new int[_kinds.Length];
        _held = new long[_kinds.Length];
        _count = new long[_kinds.Length];
        _windowStart = new long[_kinds.Length];
        Array.Fill(_windowStart, long.MinValue);
    }

    /// <summary>A limit on one kind of warning, on <paramref name="time"/>'s clock.</summary>
    public RateLimitedLog(ILogger log, TimeProvider time, string kind, int perWindow, TimeSpan? window = null)
        : this(log, (time ?? throw new ArgumentNullException(nameof(time))).GetTimestamp, time.TimestampFrequency, [kind], perWindow, window)
    {
    }

    /// <summary>The window each kind's budget is counted over.</summary>
    public TimeSpan Window => TimeSpan.FromSeconds((double)_windowTicks / _frequency);

    /// <summary>Warnings of <paramref name="kind"/> so far, logged or not.</summary>
    public long Count(int kind = 0)
    {
        lock (_gate)
        {
            return _count[kind];
        }
    }

    /// <summary>True when a warning of <paramref name="kind"/> may be logged now (the caller logs it); an ended window's holdbacks are summarised first.</summary>
    public bool Allow(int kind)
    {
        var allowed = Take(kind, out var held);
        if (held > 0)
        {
            Summarise(kind, held);
        }

        return allowed;
    }

    /// <summary>
    /// Logs <paramref name="error"/> (if any) with <paramref name="template"/> and its one property,
    /// <paramref name="value"/>, unless this window's budget for <paramref name="kind"/> is spent; then says how many like
    /// it were held back since the last one logged.
    /// </summary>
    public void Warn(Exception? error, string template, object? value, int kind = 0)
    {
        if (!Take(kind, out var held))
        {
            return;
        }

        _log.Warning(error, template, value);
        if (held > 0)
        {
            _log.Warning("{Held} more warnings like the one before were not logged (at most {PerWindow} per {Window})", held, _perWindow, Window);
        }
    }

    /// <summary>Summarises every kind whose window is over and held something back (call it from a timer).</summary>
    public void Tick()
    {
        for (var kind = 0; kind < _kinds.Length; kind++)
        {
            long held;
            lock (_gate)
            {
                if (_held[kind] == 0 || _now() - _windowStart[kind] < _windowTicks)
                {
                    continue;
                }

                held = _held[kind];
                Restart(kind, _now());
            }

            Summarise(kind, held);
        }
    }

    /// <summary>Counts a warning and takes one of its window's budget; <paramref name="held"/>: what an ended window held back, now to be said.</summary>
    private bool Take(int kind, out long held)
    {
        lock (_gate)
        {
            _count[kind]++;
            var now = _now();
            held = 0;
            if (_windowStart[kind] == long.MinValue || now - _windowStart[kind] >= _windowTicks)
            {
                held = _held[kind];
                Restart(kind, now);
            }

            if (_used[kind] < _perWindow)
            {
                _used[kind]++;
                return true;
            }

            _held[kind]++;
            return false;
        }
    }

    private void Restart(int kind, long now)
    {
        _windowStart[kind] = now;
        _used[kind] = 0;
        _held[kind] = 0;
    }

    private void Summarise(int kind, long held) =>
        _log.Warning("{Suppressed} further {WarningKind} warnings in the last {Window} were not logged (at most {PerWindow} per kind)",
            held, _kinds[kind], Window, _perWindow);
}
