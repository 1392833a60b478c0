[assembly: Parallelize(Scope = ExecutionScope.ClassLevel)]

namespace Thynapse.Transmitter.Tests;

[TestClass]
public static class AssemblyHooks
{
    [AssemblyCleanup]
    public static Task Cleanup() => TestAssembly.CleanupAsync();
}
