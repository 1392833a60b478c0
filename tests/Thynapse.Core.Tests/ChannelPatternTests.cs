using Thynapse.TestKit;

namespace Thynapse.Core.Tests;

[TestClass]
public sealed class ChannelPatternTests
{
    public static IEnumerable<object[]> Wildcards => WildcardCases.All;

    [TestMethod]
    [DynamicData(nameof(Wildcards))]
    public void Matches_FollowsTheWildcardTable(string pattern, string channel, bool expected) =>
        Assert.AreEqual(expected, ChannelPattern.Parse(pattern).Matches(channel), $"{pattern} vs {channel}");

    [TestMethod]
    [DynamicData(nameof(Wildcards))]
    public void PatternTrie_AgreesWithTheWildcardTable(string pattern, string channel, bool expected)
    {
        var trie = new PatternTrie<string>();
        trie.Add(ChannelPattern.Parse(pattern), pattern);
        var found = new List<string>();

        trie.Match(channel, found);

        Assert.AreEqual(expected, found.Count == 1, $"{pattern} vs {channel}");
    }

    [TestMethod]
    [DataRow("a.*.>")]
    [DataRow(">")]
    [DataRow("*")]
    [DataRow("$DLQ.>")]
    [DataRow("lang.c#.*")]
    public void TryParse_AcceptsPatterns(string pattern) => Assert.IsTrue(ChannelPattern.TryParse(pattern, out _, out _));

    [TestMethod]
    [DataRow(null, "missing")]
    [DataRow("", "empty")]
    [DataRow("a.>.b", "'>' may only be the last token")]
    [DataRow("a.b*", "must be a whole token")]
    [DataRow("a.>b", "must be a whole token")]
    [DataRow("a..b", "empty")]
    [DataRow("a. b", "printable ASCII")]
    [DataRow("orders.#", "'#' is not a wildcard here (token 2): use '>' for one or more trailing tokens, '*' for exactly one")]
    [DataRow("orders.#.created", "'#' is not a wildcard here (token 2)")]
    [DataRow("#", "'#' is not a wildcard here (token 1)")]
    public void TryParse_RejectsWithAReason(string? pattern, string reason)
    {
        Assert.IsFalse(ChannelPattern.TryParse(pattern, out _, out var error));
        Assert.Contains(reason, error);
    }

    [TestMethod]
    public void Parse_ThrowsArgumentExceptionNamingThePattern()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => ChannelPattern.Parse("a.>.b"));
        Assert.StartsWith("Invalid pattern 'a.>.b': '>' may only be the last token of a pattern (token 2).", ex.Message);
    }
}
