using NetMQ;
using Thynapse.TestKit;

[assembly: Parallelize(Scope = ExecutionScope.ClassLevel)]

namespace Thynapse.Cell.Tests;

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
