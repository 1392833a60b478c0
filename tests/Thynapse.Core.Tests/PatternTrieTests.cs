namespace Thynapse.Core.Tests;

[TestClass]
public sealed class PatternTrieTests
{
    [TestMethod]
    public void Match_FindsEveryMatchingPatternOnce()
    {
        var trie = new PatternTrie<string>();
        foreach (var p in new[] { "a.b.c", "a.*.c", "a.>", ">", "*.b.*", "a.b", "x.>" })
        {
            trie.Add(ChannelPattern.Parse(p), p);
        }

        var found = new List<string>();
        trie.Match("a.b.c", found);

        CollectionAssert.AreEquivalent(new[] { "a.b.c", "a.*.c", "a.>", ">", "*.b.*" }, found);
    }

    [TestMethod]
    public void Remove_StopsMatchesAndPrunes()
    {
        var trie = new PatternTrie<int>();
        var pattern = ChannelPattern.Parse("a.*.c");
        trie.Add(pattern, 1);
        trie.Add(pattern, 2);

        Assert.IsTrue(trie.Remove(pattern, 1));
        Assert.IsFalse(trie.Remove(pattern, 1));
        var found = new List<int>();
        trie.Match("a.b.c", found);
        CollectionAssert.AreEqual(new[] { 2 }, found);

        Assert.IsTrue(trie.Remove(pattern, 2));
        Assert.AreEqual(0, trie.Count);
        found.Clear();
        trie.Match("a.b.c", found);
        Assert.IsEmpty(found);
    }

    [TestMethod]
    public void Remove_OfAnUnknownPatternIsFalse()
    {
        var trie = new PatternTrie<int>();
        trie.Add(ChannelPattern.Parse("a.>"), 1);

        Assert.IsFalse(trie.Remove(ChannelPattern.Parse("a.b"), 1));
        Assert.IsFalse(trie.Remove(ChannelPattern.Parse("a.>"), 2));
        Assert.AreEqual(1, trie.Count);
    }

    [TestMethod]
    public void Match_WithTenThousandPatternsFindsOnlyTheMatchingOnes()
    {
        var trie = new PatternTrie<int>();
        for (var i = 0; i < 10_000; i++)
        {
            trie.Add(ChannelPattern.Parse($"orders.{i}.*"), i);
        }

        var found = new List<int>();
        trie.Match("orders.4242.created", found);

        CollectionAssert.AreEqual(new[] { 4242 }, found);
    }
}
