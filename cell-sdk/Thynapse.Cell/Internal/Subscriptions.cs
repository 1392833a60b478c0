using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The cell's live subscriptions (by id and, for multicatch, by pattern: <see cref="LocalRoutes"/>), and how they
/// travel across sessions: as many as fit in the <c>HELO</c>, the rest as <c>SUBS</c> after the welcome, and
/// <c>UNSB</c> for those dropped while the <c>HELO</c> was on its way. Socket thread, except <see cref="NextId"/>.
/// </summary>
internal sealed class Subscriptions(RequestTable requests, Outbox outbox, CellSignals signals)
{
    /// <summary>Bytes of subscriptions carried in one HELO; the rest follow as SUBS once welcomed (PROTOCOL.md §5.1).</summary>
    private const int HelloBudget = 32 * 1024;

    private readonly HashSet<uint> _inHello = [];
    private readonly List<CellSubscription> _afterWelcome = [];
    private readonly Dictionary<uint, Request> _following = [];
    private int _nextId;

    /// <summary>Where deliveries find their subscriptions.</summary>
    public LocalRoutes Routes { get; } = new();

    /// <summary>Any thread: the id of a new subscription (unique among the cell's).</summary>
    public uint NextId() => (uint)Interlocked.Increment(ref _nextId);

    /// <summary>
    /// The subscriptions the next <c>HELO</c> carries, as many as fit a modest header; the rest are remembered, to follow
    /// as <c>SUBS</c> once welcomed (<see cref="FollowHello"/>).
    /// </summary>
    public List<SubscribeMessage> ForHello()
    {
        var subs = new List<SubscribeMessage>();
        var budget = HelloBudget;
        _inHello.Clear();
        _afterWelcome.Clear();
        foreach (var subscription in Routes.All)
        {
            var size = 96 + subscription.Pattern.Length;
            if (size <= budget)
            {
                budget -= size;
                subs.Add(subscription.ToMessage());
                _inHello.Add(subscription.Id);
            }
            else
            {
                _afterWelcome.Add(subscription);
            }
        }

        return subs;
    }

    /// <summary>Welcomed: the subscriptions that did not fit the <c>HELO</c> (and still live) follow as <c>SUBS</c>.</summary>
    public void FollowHello()
    {
        _following.Clear();
        foreach (var subscription in _afterWelcome.Where(s => Routes.TryGet(s.Id, out _)))
        {
            var request = Request.Of(subscription.ToMessage());
            _following[subscription.Id] = request;
            requests.Send(request);
        }
    }

    /// <summary>
    /// Welcomed again: subscriptions dropped since the <c>HELO</c> left are dropped at the transmitter too, once: their
    /// parked <c>UNSB</c> requests then find them gone from the <c>HELO</c> and are settled without a second (review
    /// finding 14).
    /// </summary>
    public void DropGone()
    {
        foreach (var id in _inHello.Where(id => !Routes.TryGet(id, out _)).ToList())
        {
            _inHello.Remove(id);
            outbox.Send(new UnsubscribeMessage(id).ToFrame());
        }
    }

    /// <summary>
    /// Welcomed: settles a parked request that the <c>HELO</c> (or the <c>SUBS</c> following it) already answers; false
    /// when it must be sent.
    /// </summary>
    public bool Settle(Request parked)
    {
        var sub = parked.Subscription;
        switch (parked.Command)
        {
            case Command.Subs when sub is { } id && _inHello.Contains(id):
            case Command.Unsb when sub is { } gone && !_inHello.Contains(gone) && !_following.ContainsKey(gone):
                parked.Reply.TrySetResult(new OkayMessage(parked.Command) { Sub = parked.Subscription }); // the HELO carried the subscriptions as they are now
                return true;
            case Command.Subs when sub is { } id && _following.TryGetValue(id, out var sending):
                sending.Reply.Task.ContinueWith(t => parked.Reply.TrySetFromTask(t), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return true;
            case Command.Unsb when sub is { } id && _inHello.Contains(id):
                _inHello.Remove(id); // its UNSB is this request
                return false;
            default:
                return false;
        }
    }

    /// <summary>Reports the drops of subscriptions whose observers do not keep up (each timer tick).</summary>
    public void ReportDrops()
    {
        foreach (var subscription in Routes.All)
        {
            var dropped = subscription.TakeUnreportedDrops();
            if (dropped > 0)
            {
                signals.Notify(new CellNotice(CellNoticeKind.SlowConsumer,
                    $"Subscription {subscription} dropped {dropped} events: its observers are not keeping up ({subscription.Dropped} in all)")
                {
                    Count = dropped,
                    Pattern = subscription.Pattern,
                });
            }
        }
    }
}
