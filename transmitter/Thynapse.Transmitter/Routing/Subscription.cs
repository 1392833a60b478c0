using Thynapse.Core;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>One pattern caught by one cell in one mode, under the id the cell chose.</summary>
internal sealed class Subscription(CellSession session, uint id, ChannelPattern pattern, Catch mode)
{
    public CellSession Session { get; } = session;

    public uint Id { get; } = id;

    public ChannelPattern Pattern { get; } = pattern;

    public Catch Mode { get; } = mode;

    /// <summary>Anycatch deliveries sent and not yet acknowledged.</summary>
    public int InFlight { get; set; }

    public override string ToString() => $"{Session}#{Id} {Pattern.Text} ({Mode})";
}
