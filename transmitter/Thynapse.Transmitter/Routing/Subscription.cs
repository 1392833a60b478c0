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
    /// What the anycatch choice compares (PROTOCOL.md §4.2, §12.11): the deliveries the cell holds unacknowledged from
    /// every ingress. A local cell's is exact: this transmitter's own in flight plus those it holds for other transmitters
    /// (<see cref="Relayed"/>). A remote cell's is its holder's last load report plus what this ingress sent it since that
    /// report arrived; before any report, this ingress's own in-flight count, as without load reports.
    /// </summary>
    /// <remarks>
    /// The holder's count holds what other ingresses sent the cell, and leaves out the cell's answers on their way back
    /// here: the ingress's own count held those and not these.
    /// <para>
    /// A report is as old as its trip: since it was taken the cell has answered some of what it held (which the report
    /// still counts), and deliveries that were on their way to it have arrived (which it does not count, the report's
    /// <c>seen</c>). In a steady flow the two are about as many, so this ingress adds only what it sent after the report
    /// arrived: with those on the way counted too (by tag above <c>seen</c>), a remote cell counted its trip twice and
    /// equal cells behind another transmitter were chosen less. That is an estimate, so room is also bounded by
    /// <see cref="Holding"/>, which never counts this ingress's deliveries on the way as answered.
    /// </para>
    /// <para>
    /// What it sent since is at most what it still has in flight there: a delivery that ended without reaching the
    /// holder (timed out behind a lost forward message, or its holder restarted) stops counting.
    /// </para>
    /// <para>
    /// A subscription that does not acknowledge holds nothing: its load is 0 without reading its in-flight list, which
    /// matters to a choice among a thousand candidates (the routing micro-benchmark's targeted case).
    /// </para>
    /// </remarks>
    public int Load => Acks is null ? 0 : _reported ? _reportedLoad + Math.Min(_sentSinceReport, InFlight) : InFlight + Relayed;

    /// <summary>
    /// What bounds room (<see cref="HasRoom"/>) beside <see cref="Load"/>: at least what the cell holds, and it may not
    /// reach twice the window. A local cell's is <see cref="Load"/>. A remote cell's is its holder's last report, less this
    /// ingress's deliveries the report counted that have ended since (answered, or timed out: reports and answers come on
    /// one stream, in order, so an answer that follows a report was given after it was taken), plus what this ingress
    /// sent that the report had not seen (tags above its <c>seen</c>), at most what is still in flight there.
    /// </summary>
    /// <remarks>
    /// Room judged by <see cref="Load"/> alone, a report taken while this ingress's deliveries were on their way (a burst
    /// that had not arrived, a periodic gossip) opened the window again for as many more, and the reports of a holder that
    /// is behind (each stale by its backlog) kept opening it: a cell could be handed any number beyond its prefetch.
    /// Judged by this alone (the answers on their way back counted as held until they arrive), a cell one hop away got
    /// much less of queued work than the ingress's own when handlers take no time (bench C3 balance 0.30–0.52 against
    /// 0.58–0.79, 301k against 455k acknowledged events a second). So the window bounds the estimate, and this bound,
    /// at twice the window, what is on the wire both ways besides (C3 0.48–0.73, 525k).
    /// </remarks>
    public int Holding => Acks is null ? 0
        : _reported ? Math.Max(0, _reportedLoad - _endedSinceReport) + Math.Min(_unseen?.Count ?? 0, InFlight)
        : InFlight + Relayed;

    /// <summary>A local cell's deliveries this transmitter holds for other ingresses (relayed tags, §12.11).</summary>
    public int Relayed { get; private set; }

    /// <summary>This transmitter holds one more delivery for another ingress (a relayed tag) at this local subscription.</summary>
    public void RelayHeld() => Relayed++;

    private bool _reported;
    private int _reportedLoad;
    private int _sentSinceReport;
    private ulong _seen;
    private int _endedSinceReport;
    private Queue<ulong>? _unseen;

    /// <summary>This ingress sent tracked delivery <paramref name="tag"/> to this (remote) subscription's holder.</summary>
    public void SentToHolder(ulong tag)
    {
        if (_reported)
        {
            _sentSinceReport++;
        }

        var unseen = _unseen ??= new Queue<ulong>();
        unseen.Enqueue(tag);
        while (unseen.Count > InFlight + 1)
        {
            unseen.Dequeue(); // more than are in flight there (this one not held yet): the oldest were seen or ended
        }
    }

    /// <summary>
    /// The holder's load report: the cell holds <paramref name="load"/> unacknowledged deliveries, counting this ingress's
    /// up to tag <paramref name="seen"/>.
    /// </summary>
    public void LoadReported(int load, ulong seen)
    {
        if (_unseen is { } queue)
        {
            while (queue.TryPeek(out var tag) && tag <= seen)
            {
                queue.Dequeue();
            }
        }

        _reported = true;
        _reportedLoad = load;
        _seen = seen;
        _endedSinceReport = 0;
        _sentSinceReport = 0;
        Refill();
    }

    /// <summary>
    /// True when the transmitter may hand this subscription another event now: its prefetch is not reached and, once
    /// it was, at least half of it has been acknowledged since (<see cref="Hold"/>).
    /// </summary>
    /// <remarks>
    /// Room is counted in <see cref="Load"/>, what the cell holds: from every ingress (so that across a mesh the prefetch
    /// bounds the cell's holdings, not each ingress's share), and without its answers on the way back from a cell one hop
    /// away once a report has said so; and, as that is an estimate, in <see cref="Holding"/>, which never lets this
    /// ingress hand a cell more than twice its window.
    /// </remarks>
    public bool HasRoom => Acks is null || (_refilling && !Full);

    /// <summary>
    /// At its window by <see cref="Load"/>, or at twice it by <see cref="Holding"/>, which differs from the load only for
    /// a remote cell with a report.
    /// </summary>
    private bool Full => Load >= _window || (_reported && Holding >= 2 * _window);

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
    /// A full subscription (by <see cref="Load"/>, or by <see cref="Holding"/> at twice the window) is refilled only
    /// when half its prefetch is free again, not slot by slot as each acknowledgement arrives: under load the cell then
    /// gets its deliveries in frames of half the prefetch, and answers in runs as large, instead of the window breaking
    /// into small frames that each cost a wake-up of every thread on the way (the silly-window syndrome of TCP). A
    /// subscription that never fills is served at once.
    /// </remarks>
    public void Hold(Reliability.AnycatchDelivery delivery)
    {
        InFlightDeliveries.AddLast(delivery);
        if (Full)
        {
            _refilling = false;
        }
    }

    /// <summary>One of its deliveries timed out: it may hold one at a time until acknowledgements widen the window.</summary>
    public void TimedOut()
    {
        _window = 1;
        _refilling = !Full;
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
        if (_reported && delivery.Tag <= _seen)
        {
            _endedSinceReport++; // the report counted it, and the cell holds it no more
        }

        if (InFlight == 0)
        {
            _sentSinceReport = 0; // nothing of this ingress's left on the way there
            _unseen?.Clear();
        }

        Refill();
    }

    /// <summary>A delivery held for another ingress (a relayed tag) was answered or dropped.</summary>
    public void RelayReleased()
    {
        Relayed--;
        Refill();
    }

    private void Refill()
    {
        // Half a window free by the estimate and by the bound (a local cell's are one count, and within the window the
        // bound is met): a cell stopped by the bound is refilled in runs too, not one slot per answer.
        var half = Math.Max(1, _window / 2);
        if (Load <= _window - half && Holding <= 2 * _window - half)
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
