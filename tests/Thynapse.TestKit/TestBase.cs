namespace Thynapse.TestKit;

/// <summary>
/// The base of the test classes: the <see cref="TestContext"/> that MSTest sets before each test, and that test's
/// cancellation token (<see cref="Ct"/>), which its cooperative <c>[Timeout]</c> cancels and which each of its waits,
/// connects and reads is given.
/// </summary>
public abstract class TestBase
{
    /// <summary>Set by MSTest before each test.</summary>
    public TestContext TestContext { get; set; } = null!;

    /// <summary>The running test's token: cancelled when the test times out or the run is stopped.</summary>
    protected CancellationToken Ct => TestContext.CancellationToken;
}
