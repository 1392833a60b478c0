using NetMQ;
using Thynapse.TestKit;

[assembly: Parallelize(Scope = ExecutionScope.ClassLevel)]

namespace Thynapse.Transmitter.Tests;

[TestClass]
public static class AssemblyHooks
{
    [AssemblyCleanup]
    public static async Task Cleanup()
    {
        await SharedTransmitter.StopAsync();
        NetMQConfig.Cleanup(block: false);
    }
}
