using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>The cells of one service that anycatch a channel (one subscription per distinct cell).</summary>
internal sealed class AnycatchGroup(string service, Subscription[] candidates)
{
    public string Service { get; } = service;

    public Subscription[] Candidates { get; } = candidates;

    /// <summary>The least busy candidate with room (PROTOCOL.md §4.2); null when none has room.</summary>
    public Subscription? Choose(CellSession? avoid = null) => Chooser.LeastBusy(Candidates, avoid);
}
