namespace Thynapse.TestKit;

/// <summary>
/// The wildcard table (PROTOCOL.md §3.2): pattern, channel, whether it matches. Used by the matcher's unit tests
/// and by the integration test that routes each case through a real transmitter.
/// </summary>
public static class WildcardCases
{
    /// <summary>(pattern, channel, matches) rows.</summary>
    public static IEnumerable<object[]> All =>
    [
        ["a", "a", true],
        ["a", "b", false],
        ["a", "a.b", false],
        ["a.b", "a.b", true],
        ["a.b", "a", false],
        ["a.b", "a.b.c", false],
        ["a.*", "a.b", true],
        ["a.*", "a", false],
        ["a.*", "a.b.c", false],
        ["*", "a", true],
        ["*", "a.b", false],
        ["*.b", "a.b", true],
        ["*.b", "a.c", false],
        ["*.b", "a.x.b", false],
        ["a.*.c", "a.b.c", true],
        ["a.*.c", "a.b.d", false],
        ["a.*.c", "a.b.x.c", false],
        ["*.*", "a.b", true],
        ["*.*", "a", false],
        ["*.*", "a.b.c", false],
        ["a.>", "a.b", true],
        ["a.>", "a.b.c.d", true],
        ["a.>", "a", false],
        ["a.>", "b.c", false],
        [">", "a", true],
        [">", "a.b.c", true],
        ["*.>", "a.b", true],
        ["*.>", "a", false],
        ["a.*.>", "a.b.c", true],
        ["a.*.>", "a.b", false],
        ["Orders.created", "orders.created", false],
        ["orders.created", "orders.created", true],
        ["orders-eu.v2", "orders-eu.v2", true],
        ["a.b.*", "a.b.$x", true],
        ["a.*.c.>", "a.1.c.d.e", true],
        ["a.*.c.>", "a.1.x.d", false],
    ];
}
