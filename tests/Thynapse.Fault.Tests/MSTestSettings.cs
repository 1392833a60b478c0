using NetMQ;

[assembly: Parallelize(Scope = ExecutionScope.ClassLevel)]

namespace Thynapse.Fault.Tests;

[TestClass]
public static class AssemblyHooks
{
    [AssemblyCleanup]
    public static void Cleanup() => NetMQConfig.Cleanup(block: false);
}
