
namespace Thynapse.Transmitter.Routing;

/// <summary>The cells of one service that anycatch a channel (one subscription per distinct cell).</summary>
internal sealed class AnycatchGroup(string service, Subscription[] candidates)
{
    /// <summary>Unacknowledged events of one burst that go to the same cell in a row at most (PROTOCOL.md §4.2).</summary>
    public const int RunLength = 256;

    private readonly long[] _handed = new long[candidates.Length];
    private int _runHolder = -1;
    private long _runBurst = -1;
    private int _runLeft;

    public string Service { get; } = service;

    public Subscription[] Candidates { get; } = candidates;

    /// <summary>
    /// The receiver of a new event in inbound burst <paramref name="burst"/>: the least busy candidate with room
    /// (PROTOCOL.md §4.2). Among candidates that do not acknowledge (none has anything in flight), events go in runs:
    /// the one this group has handed the fewest events keeps being chosen for up to <see cref="RunLength"/> events of
    /// the same burst. Under load each cell then gets a few full frames per burst instead of a small one from every
    /// burst, and the shares still even out (a run's short tail does not land on the same cell burst after burst); at
    /// low rates a burst holds one event and the choice rotates with each. Null when none has room.
    /// </summary>
    public Subscription? Choose(long burst)
    {
        if (burst == _runBurst && _runLeft > 0 && Candidates[_runHolder] is { Active: true, Acks: null } holder)
        {
            _runLeft--;
            _handed[_runHolder]++;
            return holder;
        }

        var chosen = Chooser.LeastBusy(Candidates, avoid: null);
        if (chosen is not { Acks: null })
        {
            _runHolder = -1;
            return chosen; // acknowledging subscriptions are chosen per event
        }

        // Not acknowledging: nothing in flight, as least busy as any. Start the run with the one handed the fewest.
        var start = Array.IndexOf(Candidates, chosen);
        for (var i = 0; i < Candidates.Length; i++)
        {
            if (_handed[i] < _handed[start] && Candidates[i] is { Active: true, Acks: null })
            {
                start = i;
            }
        }

        _runHolder = start;
        _runBurst = burst;
        _runLeft = RunLength - 1;
        _handed[start]++;
        return Candidates[start];
    }

    /// <summary>The least busy candidate with room, avoiding <paramref name="avoid"/> (a redelivery); null when none has room.</summary>
    public Subscription? Choose(Receiver? avoid) => Chooser.LeastBusy(Candidates, avoid);

    /// <summary>The candidates <paramref name="target"/> admits, in <paramref name="scratch"/> (cleared first; read it before delivering anything).</summary>
    public List<Subscription> Eligible(in EventTarget target, List<Subscription> scratch)
    {
        scratch.Clear();
        if (target.Service is null || string.Equals(Service, target.Service, StringComparison.Ordinal))
        {
            foreach (var candidate in Candidates)
            {
                if (target.Query is null || target.Query.Matches(candidate.Receiver.Metadata))
                {
                    scratch.Add(candidate);
                }
            }
        }

        return scratch;
    }
}
