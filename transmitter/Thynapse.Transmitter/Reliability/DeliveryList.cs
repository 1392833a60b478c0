namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// An intrusive doubly-linked list of deliveries (the links live in <see cref="AnycatchDelivery"/>), so that
/// adding and removing costs no allocation. A delivery is in at most one list at a time: its holder's in-flight
/// list (send order, which is deadline order since one subscription has one timeout) or its service's queue.
/// </summary>
internal sealed class DeliveryList
{
    private AnycatchDelivery? _last;

    public AnycatchDelivery? First { get; private set; }

    public int Count { get; private set; }

    public void AddLast(AnycatchDelivery delivery)
    {
        delivery.List?.Remove(delivery);
        delivery.List = this;
        delivery.Previous = _last;
        delivery.Next = null;
        if (_last is null)
        {
            First = delivery;
        }
        else
        {
            _last.Next = delivery;
        }

        _last = delivery;
        Count++;
    }

    public void AddFirst(AnycatchDelivery delivery)
    {
        delivery.List?.Remove(delivery);
        delivery.List = this;
        delivery.Previous = null;
        delivery.Next = First;
        if (First is null)
        {
            _last = delivery;
        }
        else
        {
            First.Previous = delivery;
        }

        First = delivery;
        Count++;
    }

    public void Remove(AnycatchDelivery delivery)
    {
        if (!ReferenceEquals(delivery.List, this))
        {
            return;
        }

        if (delivery.Previous is { } previous)
        {
            previous.Next = delivery.Next;
        }
        else
        {
            First = delivery.Next;
        }

        if (delivery.Next is { } next)
        {
            next.Previous = delivery.Previous;
        }
        else
        {
            _last = delivery.Previous;
        }

        delivery.Previous = delivery.Next = null;
        delivery.List = null;
        Count--;
    }
}
