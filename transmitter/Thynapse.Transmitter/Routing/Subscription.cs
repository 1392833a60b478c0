using Thynapse.Core;

namespace Thynapse.Transmitter.Routing;

/// <summary>One pattern caught by one cell in one mode, under the id the cell chose.</summary>
internal sealed class Subscription(Receiver receiver, uint id, ChannelPattern pattern, Catch mode, AckSettings? acks)
{
    /// <summary>The cell that holds it.</summary>
    public Receiver Receiver { get; } = receiver;

    public uint Id { get; } = id;

    public ChannelPattern Pattern { get; } = pattern;

    public Catch Mode { get; } = mode;

    /// <summary>How this anycatch subscription acknowledges; null when it does not (at most once).</summary>
    public AckSettings? Acks { get; } = acks;

    /// <summary>Anycatch deliveries sent and not yet acknowledged.</summary>
    public int InFlight => InFlightDeliveries.Count;

    /// <summary>Tracked deliveries held by this subscription, oldest (first to time out) first.</summary>
    public Reliability.DeliveryList InFlightDeliveries { get; } = new();

    /// <summary>
    /// True when the transmitter may hand this subscription another event now: its prefetch is not reached and, once
    /// it was, at least half of it has been acknowledged since (<see cref="Hold"/>).
    /// </summary>
    public bool HasRoom => Acks is null || (_refilling && InFlight < _window);

    private bool _refilling = true;
    private int _window = acks?.Prefetch ?? 0;

    /// <summary>
    /// Deliveries it may hold now: its prefetch, or fewer after an ack timeout. A timeout shrinks the window to one, and
    /// each acknowledgement widens it by one again (as TCP's congestion window recovers), so a cell whose handler hangs
    /// stops taking the service's work, and redeliveries go to the others, while a healthy cell that had one slow
    /// event is back at its prefetch after as many acknowledgements.
    /// </summary>
    public int Window => _window;

    /// <summary>Tracks a delivery sent to this subscription.</summary>
    /// <remarks>
    /// A full subscription is refilled only when half its prefetch is free again, not slot by slot as each
    /// acknowledgement arrives: under load the cell then gets its deliveries in frames of half the prefetch, and
    /// answers in runs as large, instead of the window breaking into small frames that each cost a wake-up of every
    /// thread on the way (the silly-window syndrome of TCP). A subscription that never fills is served at once.
    /// </remarks>
    public void Hold(Reliability.AnycatchDelivery delivery)
    {
        InFlightDeliveries.AddLast(delivery);
        if (InFlight >= _window)
        {
            _refilling = false;
        }
    }

    /// <summary>One of its deliveries timed out: it may hold one at a time until acknowledgements widen the window.</summary>
    public void TimedOut()
    {
        _window = 1;
        _refilling = InFlight < _window;
    }

    /// <summary>One of its deliveries was acknowledged: the window widens by one, up to the prefetch.</summary>
    public void Acknowledged()
    {
        if (_window < Acks!.Prefetch)
        {
            _window++;
        }
    }

    /// <summary>Stops tracking a delivery (acknowledged, refused, timed out or moved).</summary>
    public void Release(Reliability.AnycatchDelivery delivery)
    {
        InFlightDeliveries.Remove(delivery);
        if (InFlight <= _window - Math.Max(1, _window / 2))
        {
            _refilling = true;
        }
    }

    /// <summary>False once unsubscribed or its cell is gone: it may still hold deliveries, but gets no new ones.</summary>
    public bool Active { get; set; } = true;

    public override string ToString() => $"{Receiver}#{Id} {Pattern.Text} ({Mode})";
}

/// <summary>How an acknowledging anycatch subscription wants its deliveries handled (PROTOCOL.md §5.6).</summary>
/// <param name="Prefetch">Deliveries it may hold unacknowledged at once.</param>
/// <param name="AckTimeout">How long a delivery may stay unacknowledged before it is redelivered.</param>
/// <param name="AckTimeoutTicks"><paramref name="AckTimeout"/> in timestamp ticks of the transmitter's clock.</param>
/// <param name="MaxAttempts">Deliveries of one event before it is dead-lettered.</param>
internal sealed record AckSettings(int Prefetch, TimeSpan AckTimeout, long AckTimeoutTicks, int MaxAttempts);
