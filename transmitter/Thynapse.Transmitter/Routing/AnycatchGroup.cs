using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>The cells of one service that anycatch a channel (one subscription per distinct cell).</summary>
internal sealed class AnycatchGroup(string service, Subscription[] candidates)
{
    /// <summary>Unacknowledged events of one burst that go to the same cell in a row at most (PROTOCOL.md §4.2).</summary>
    public const int RunLength = 256;

    private Subscription? _runHolder;
    private long _runBurst = -1;
    private int _runLeft;

    public string Service { get; } = service;

    public Subscription[] Candidates { get; } = candidates;

    /// <summary>
    /// The receiver of a new event in inbound burst <paramref name="burst"/>: the least busy candidate with room
    /// (PROTOCOL.md §4.2), kept for up to <see cref="RunLength"/> events of the same burst while it does not
    /// acknowledge. Under load each cell then gets a few full frames per burst instead of a small one from every
    /// burst; at low rates a burst holds one event and the choice rotates with each. Null when none has room.
    /// </summary>
    public Subscription? Choose(long burst)
    {
        if (burst == _runBurst && _runLeft > 0 && _runHolder is { Active: true, Acks: null } holder)
        {
            _runLeft--;
            return holder;
        }

        var chosen = Chooser.LeastBusy(Candidates, avoid: null);
        _runHolder = chosen;
        _runBurst = burst;
        _runLeft = RunLength - 1;
        return chosen;
    }

    /// <summary>The least busy candidate with room, avoiding <paramref name="avoid"/> (a redelivery); null when none has room.</summary>
    public Subscription? Choose(CellSession? avoid) => Chooser.LeastBusy(Candidates, avoid);
}
