using Serilog;

namespace Thynapse.Transmitter.Diagnostics;

/// <summary>
/// Caps warnings caused by peers (bad input, slow cells) per interval, so a hostile or broken cell cannot
/// flood the log; what was held back is summarised at the next tick. Counters still count everything.
/// </summary>
internal sealed class LogLimiter(ILogger log, int perInterval)
{
    private int _used;
    private long _suppressed;

    public bool Allow()
    {
        if (_used < perInterval)
        {
            _used++;
            return true;
        }

        _suppressed++;
        return false;
    }

    public void Tick()
    {
        if (_suppressed > 0)
        {
            log.Warning("{Suppressed} further warnings about cells were not logged (rate limit)", _suppressed);
        }

        _used = 0;
        _suppressed = 0;
    }
}
