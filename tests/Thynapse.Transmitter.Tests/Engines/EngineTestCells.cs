using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Tests.Engines;

/// <summary>Cells and subscriptions made directly, for tests of one engine alone.</summary>
internal static class EngineTestCells
{
    private static int _next;

    public static LocalCell NewCell(string service, Thid? id = null) =>
        new(System.Text.Encoding.ASCII.GetBytes($"cell-{Interlocked.Increment(ref _next)}"), new CellProfile(id ?? Thid.NewRandom(), service), acceptsBinary: true, resumeToken: "token", now: 0);

    /// <summary>A subscription of <paramref name="cell"/>, recorded in its profile as the subscription manager does.</summary>
    public static Subscription Subscribe(LocalCell cell, uint id, string pattern, Catch mode = Catch.Multi)
    {
        var subscription = new Subscription(cell, id, ChannelPattern.Parse(pattern), mode, acks: null);
        cell.Profile.Subscriptions[id] = subscription;
        return subscription;
    }

    /// <summary>An acknowledging anycatch subscription of <paramref name="cell"/> (prefetch 16, three attempts), recorded in its profile.</summary>
    public static Subscription SubscribeAcknowledging(Receiver cell, uint id, string pattern, long ackTimeoutTicks)
    {
        var subscription = new Subscription(cell, id, ChannelPattern.Parse(pattern), Catch.Any,
            new AckSettings(16, TimeSpan.FromSeconds(1), ackTimeoutTicks, 3));
        cell.Profile.Subscriptions[id] = subscription;
        return subscription;
    }
}
