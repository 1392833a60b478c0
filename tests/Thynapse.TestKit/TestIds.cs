namespace Thynapse.TestKit;

/// <summary>Unique names so that tests sharing a transmitter never see each other's events.</summary>
public static class TestIds
{
    private static int _next;

    /// <summary>A unique channel token or service name starting with <paramref name="prefix"/>.</summary>
    public static string Next(string prefix) => $"{prefix}{Interlocked.Increment(ref _next)}x{Environment.ProcessId}";
}
