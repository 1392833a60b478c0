using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Tests;

[TestClass]
public sealed class LogLimiterTests
{
    [TestMethod]
    public void EveryWarningKind_HasItsOwnName_AndCanBeLimited()
    {
        // A kind added without its name threw out of Allow (the mesh's malformed-message warnings did), or took the next kind's name.
        var limiter = new LogLimiter(Serilog.Core.Logger.None, () => 0, 1000, perWindow: 1);
        foreach (var kind in Enum.GetValues<WarningKind>())
        {
            Assert.IsTrue(limiter.Allow(kind), $"{kind}: the first warning of each kind is logged");
            Assert.IsFalse(limiter.Allow(kind), $"{kind}: the second within the window is held back, counted on its own");
        }
    }
}
