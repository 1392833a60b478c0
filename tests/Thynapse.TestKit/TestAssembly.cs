using NetMQ;

namespace Thynapse.TestKit;

/// <summary>What a test assembly does once all its tests have run.</summary>
public static class TestAssembly
{
    /// <summary>
    /// For the assembly's <c>[AssemblyCleanup]</c>: stops the <see cref="SharedTransmitter"/> if a test started it, then
    /// lets NetMQ's threads go without waiting for sockets a test left open.
    /// </summary>
    public static async Task CleanupAsync()
    {
        await SharedTransmitter.StopAsync();
        NetMQConfig.Cleanup(block: false);
    }
}
