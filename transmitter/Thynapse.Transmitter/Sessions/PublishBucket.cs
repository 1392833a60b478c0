namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// A cell's allowance of events under <see cref="TransmitterOptions.MaxPublishRate"/>: a token bucket of one second's
/// worth, full when the cell publishes first, refilled at the rate on the routing clock. Owned by the routing thread;
/// a mutable struct held in a field of <see cref="LocalCell"/>, so that taking allocates nothing.
/// </summary>
internal struct PublishBucket
{
    private double _tokens;
    private long _refilledAt;
    private bool _started;

    /// <summary>Takes one event's allowance at <paramref name="now"/>; false when the cell is over <paramref name="rate"/> events a second.</summary>
    public bool TryTake(long now, int rate, long frequency)
    {
        if (!_started)
        {
            _started = true;
            _tokens = rate;
            _refilledAt = now;
        }
        else if (now > _refilledAt)
        {
            _tokens = Math.Min(rate, _tokens + ((double)(now - _refilledAt) * rate / frequency));
            _refilledAt = now;
        }

        if (_tokens < 1)
        {
            return false;
        }

        _tokens--;
        return true;
    }
}
