namespace Thynapse.Core.Tests;

/// <summary>SemVer 2.0.0 parsing and precedence, as the query language compares versions (PROTOCOL.md §11.4).</summary>
[TestClass]
public sealed class SemanticVersionTests
{
    [TestMethod]
    [DataRow("1.0.0")]
    [DataRow("v1.0.0")]
    [DataRow("0.0.0")]
    [DataRow("10.20.30")]
    [DataRow("1.0.0-alpha.1")]
    [DataRow("1.0.0-0.3.7")]
    [DataRow("1.0.0-x-y-z.--")]
    [DataRow("1.0.0+001")]
    [DataRow("1.0.0-rc.1+build.1")]
    [DataRow("99999999999999999999999.0.0")]
    public void TryParse_SemVer_Accepts(string text) => Assert.IsTrue(SemanticVersion.TryParse(text, out _), text);

    [TestMethod]
    [DataRow("1.2")]
    [DataRow("1")]
    [DataRow("1.2.3.4")]
    [DataRow("01.2.3")]
    [DataRow("1.02.3")]
    [DataRow("V1.2.3")]
    [DataRow("vv1.2.3")]
    [DataRow(" 1.2.3")]
    [DataRow("1.2.3-")]
    [DataRow("1.2.3-01")]
    [DataRow("1.2.3-a..b")]
    [DataRow("1.2.3+")]
    [DataRow("1.2.3+a_b")]
    [DataRow("1.2.3-é")]
    [DataRow("")]
    public void TryParse_NotSemVer_Refuses(string text) => Assert.IsFalse(SemanticVersion.TryParse(text, out _), text);

    [TestMethod]
    [DataRow("1.0.0-alpha", "1.0.0-alpha.1")]
    [DataRow("1.0.0-alpha.1", "1.0.0-alpha.beta")]
    [DataRow("1.0.0-alpha.beta", "1.0.0-beta")]
    [DataRow("1.0.0-beta", "1.0.0-beta.2")]
    [DataRow("1.0.0-beta.2", "1.0.0-beta.11")]
    [DataRow("1.0.0-beta.11", "1.0.0-rc.1")]
    [DataRow("1.0.0-rc.1", "1.0.0")]
    [DataRow("1.0.0", "2.0.0")]
    [DataRow("2.0.0", "2.1.0")]
    [DataRow("2.1.0", "2.1.1")]
    [DataRow("2.9.1", "2.10.0")]
    [DataRow("9.0.0", "10.0.0")]
    [DataRow("99999999999999999999.0.0", "100000000000000000000.0.0")]
    public void CompareTo_SemVerPrecedence_OrdersAscending(string lower, string higher)
    {
        Assert.IsTrue(SemanticVersion.TryParse(lower, out var low));
        Assert.IsTrue(SemanticVersion.TryParse(higher, out var high));

        Assert.IsLessThan(0, low.CompareTo(high), $"{lower} < {higher}");
        Assert.IsGreaterThan(0, high.CompareTo(low), $"{higher} > {lower}");
    }

    [TestMethod]
    [DataRow("1.0.0", "v1.0.0")]
    [DataRow("1.0.0+a", "1.0.0+b")]
    [DataRow("1.0.0-rc.1+x", "v1.0.0-rc.1")]
    public void CompareTo_BuildAndPrefix_AreIgnored(string left, string right)
    {
        Assert.IsTrue(SemanticVersion.TryParse(left, out var a));
        Assert.IsTrue(SemanticVersion.TryParse(right, out var b));

        Assert.AreEqual(0, a.CompareTo(b));
    }
}
