namespace Thynapse.TestKit;

/// <summary>
/// One in-process transmitter per test assembly, on free loopback ports with <see cref="Transmitters.LoopbackOptions"/>,
/// started on first use, for tests that need a transmitter but not a fresh one: unique channel and service names
/// (<see cref="TestIds"/>) keep tests that run in parallel apart. The assembly's <c>[AssemblyCleanup]</c> calls
/// <see cref="StopAsync"/>; a test never disposes <see cref="Instance"/>.
/// </summary>
/// <remarks>
/// A test starts its own (<see cref="Transmitters.StartLoopback"/>) when it changes the options, counts the
/// transmitter's <c>Stats</c>, sees every cell or every channel (<c>LIST</c>, <c>WTCH</c>, a <c>&gt;</c> pattern), uses
/// fixed names, or stops the transmitter.
/// </remarks>
public static class SharedTransmitter
{
    private static readonly Lazy<Thynapse.Transmitter.Transmitter> Started = new(() => Transmitters.StartLoopback());

    /// <summary>The assembly's shared transmitter (started by the first call).</summary>
    public static Thynapse.Transmitter.Transmitter Instance => Started.Value;

    /// <summary>Stops the shared transmitter if it was started: for the assembly's <c>[AssemblyCleanup]</c>.</summary>
    public static async Task StopAsync()
    {
        if (Started.IsValueCreated)
        {
            await Started.Value.DisposeAsync();
        }
    }
}
