namespace Thynapse.Core.Tests;

/// <summary><c>$min</c>/<c>$max</c> pick one matching cell with a numeric field; ties go to the first.</summary>
[TestClass]
public sealed class QuerySelectorTests
{
    private static readonly JObject?[] Cells =
    [
        QueryJson.Object("{'region': 'eu', 'load': 0.5}"),          // 0
        QueryJson.Object("{'region': 'us', 'load': 0.2}"),          // 1
        QueryJson.Object("{'region': 'eu', 'load': '0.1'}"),        // 2: a string is not eligible
        QueryJson.Object("{'region': 'eu'}"),                       // 3: missing is not eligible
        QueryJson.Object("{'region': 'eu', 'load': 0.2}"),          // 4: ties with 1
        QueryJson.Object("{'region': 'eu', 'load': [0.0]}"),        // 5: a list is not eligible
        QueryJson.Object("{'region': 'eu', 'load': null}"),         // 6
        QueryJson.Object("{'region': 'eu', 'load': 0.9}"),          // 7
        QueryJson.Object("{'region': 'ap', 'load': 1}"),            // 8: an integer compares with floats
        QueryJson.Object("{'region': 'ap', 'gpu': {'load': -1}}"),  // 9
        null,                                                       // 10: no metadata at all
    ];

    [TestMethod]
    [DataRow("{'$min': 'load'}", 1, DisplayName = "$min: the first of the tied lowest")]
    [DataRow("{'$max': 'load'}", 8)]
    [DataRow("{'region': 'eu', '$min': 'load'}", 4, DisplayName = "the filter applies before the selector")]
    [DataRow("{'region': 'eu', '$max': 'load'}", 7)]
    [DataRow("{'$max': 'load', 'region': 'eu'}", 7, DisplayName = "the selector may come first")]
    [DataRow("{'region': 'ap', '$min': 'load'}", 8)]
    [DataRow("{'region': 'zz', '$min': 'load'}", -1, DisplayName = "nothing matches")]
    [DataRow("{'region': 'eu', 'load': {'$exists': false}, '$min': 'load'}", -1, DisplayName = "nothing matching is eligible")]
    [DataRow("{'$min': 'absent'}", -1)]
    [DataRow("{'$min': 'gpu.load'}", 9, DisplayName = "selectors take dotted paths")]
    [DataRow("{'region': 'eu'}", 0, DisplayName = "without a selector: the first match")]
    [DataRow("{'region': 'zz'}", -1)]
    public void Pick_SelectorOverMatchingCells_ChoosesOne(string query, int expected) =>
        Assert.AreEqual(expected, QueryJson.Query(query).Pick(Cells, static cell => cell));

    [TestMethod]
    public void SelectorPick_IgnoresTheFilter()
    {
        var query = QueryJson.Query("{'region': 'us', '$max': 'load'}");

        Assert.AreEqual(1, query.Pick(Cells, static cell => cell));
        Assert.AreEqual(8, query.Selector!.Pick(Cells, static cell => cell));
    }

    [TestMethod]
    public void Selector_DescribesItself()
    {
        var selector = QueryJson.Query("{'$max': 'gpu.load'}").Selector!;

        Assert.AreEqual(SelectorKind.Max, selector.Kind);
        Assert.AreEqual("gpu.load", selector.Path);
        Assert.IsNull(QueryJson.Query("{'load': 1}").Selector);
    }

    [TestMethod]
    [DataRow("{'load': 0.5}", true, 0.5)]
    [DataRow("{'load': 3}", true, 3.0)]
    [DataRow("{'load': '3'}", false, 0.0)]
    [DataRow("{'load': true}", false, 0.0)]
    [DataRow("{'load': {'v': 1}}", false, 0.0)]
    public void TryGetKey_OnlyNumbersAreEligible(string metadata, bool eligible, double key)
    {
        var selector = QueryJson.Query("{'$min': 'load'}").Selector!;

        Assert.AreEqual(eligible, selector.TryGetKey(QueryJson.Object(metadata), out var actual));
        Assert.AreEqual(key, actual);
    }

    [TestMethod]
    public void Pick_SelectorMatchesEveryCell_WhenTheFilterIsEmpty() =>
        Assert.IsTrue(QueryJson.Query("{'$min': 'load'}").Matches(new JObject()));

    [TestMethod]
    public void Pick_NoCandidates_ReturnsMinusOne() =>
        Assert.AreEqual(-1, QueryJson.Query("{'$min': 'load'}").Pick(Array.Empty<JObject>(), static cell => cell));
}
