namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// Recycles the objects of acknowledged anycatch (one <see cref="PendingEvent"/> and one
/// <see cref="AnycatchDelivery"/> per event and service), so that a steady stream of acked events does not allocate.
/// Routing thread only. Keeps at most <see cref="MaxSpares"/> of each (with an event's body buffer, about 2 MiB
/// when bodies are small); past that, spares go to the garbage collector.
/// </summary>
/// <remarks>
/// Sized for a service queue that swings by thousands of events as publishers outrun acknowledging cells: with
/// 4,096 spares, each swing's excess was dropped and allocated again.
/// </remarks>
internal sealed class ReliabilityPool
{
    private const int MaxSpares = 8192;
    private readonly Stack<PendingEvent> _events = new();
    private readonly Stack<AnycatchDelivery> _deliveries = new();

    public PendingEvent RentEvent() => _events.Count > 0 ? _events.Pop() : new PendingEvent();

    public AnycatchDelivery RentDelivery(PendingEvent pending, string service)
    {
        var delivery = _deliveries.Count > 0 ? _deliveries.Pop() : new AnycatchDelivery();
        delivery.Init(pending, service);
        return delivery;
    }

    /// <summary>A delivery that ended (in no list, not in flight); its event too once no other delivery holds it.</summary>
    public void Return(AnycatchDelivery delivery)
    {
        var pending = delivery.Event;
        delivery.Clear();
        if (_deliveries.Count < MaxSpares)
        {
            _deliveries.Push(delivery);
        }

        if (pending.Release() && _events.Count < MaxSpares)
        {
            _events.Push(pending);
        }
    }
}
