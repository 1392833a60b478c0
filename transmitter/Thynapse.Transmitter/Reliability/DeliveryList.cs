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
        delivery.List?.Remove(delivery); // first: it may be this list's last
        Link(delivery, _last, null);
    }

    public void AddFirst(AnycatchDelivery delivery)
    {
        delivery.List?.Remove(delivery);
        Link(delivery, null, First);
    }

    /// <summary>Links <paramref name="delivery"/>, on no list, between two neighbours of this list (null at an end).</summary>
    private void Link(AnycatchDelivery delivery, AnycatchDelivery? previous, AnycatchDelivery? next)
    {
        delivery.List = this;
        delivery.Previous = previous;
        delivery.Next = next;
        if (previous is null)
        {
            First = delivery;
        }
        else
        {
            previous.Next = delivery;
        }

        if (next is null)
        {
            _last = delivery;
        }
        else
        {
            next.Previous = delivery;
        }

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
