using Thynapse.Transmitter;

namespace Thynapse.TestKit;

/// <summary>In-process transmitters on real loopback sockets with free ports.</summary>
public static class Transmitters
{
    /// <summary>
    /// Options binding free ports on 127.0.0.1. The liveness timeout is generous (raw clients in protocol tests send
    /// no heartbeats, and a loaded CI machine can stall a test for seconds); liveness tests shorten it themselves.
    /// </summary>
    public static TransmitterOptions LoopbackOptions => TransmitterOptions.Default with
    {
        CommandEndpoint = "tcp://127.0.0.1:*",
        EventsEndpoint = "tcp://127.0.0.1:*",
        HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        LivenessTimeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>Starts a transmitter on free loopback ports.</summary>
    public static Thynapse.Transmitter.Transmitter StartLoopback(Func<TransmitterOptions, TransmitterOptions>? tune = null) =>
        Thynapse.Transmitter.Transmitter.Start(tune is null ? LoopbackOptions : tune(LoopbackOptions));
}
