using Thynapse.Transmitter;

namespace Thynapse.TestKit;

/// <summary>In-process transmitters on real loopback sockets with free ports.</summary>
public static class Transmitters
{
    /// <summary>Options binding free ports on 127.0.0.1, with short heartbeats so liveness tests stay fast.</summary>
    public static TransmitterOptions LoopbackOptions => TransmitterOptions.Default with
    {
        CommandEndpoint = "tcp://127.0.0.1:*",
        EventsEndpoint = "tcp://127.0.0.1:*",
        HeartbeatInterval = TimeSpan.FromMilliseconds(250),
        LivenessTimeout = TimeSpan.FromMilliseconds(1500),
    };

    /// <summary>Starts a transmitter on free loopback ports.</summary>
    public static Thynapse.Transmitter.Transmitter StartLoopback(Func<TransmitterOptions, TransmitterOptions>? tune = null) =>
        Thynapse.Transmitter.Transmitter.Start(tune is null ? LoopbackOptions : tune(LoopbackOptions));
}
