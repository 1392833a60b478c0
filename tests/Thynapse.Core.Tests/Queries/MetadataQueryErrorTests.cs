namespace Thynapse.Core.Tests;

/// <summary>Bad queries are refused with a kind the transmitter maps to an ERRR code, and the path of the problem.</summary>
[TestClass]
public sealed class MetadataQueryErrorTests
{
    [TestMethod]
    [DataRow("[]", QueryErrorKind.InvalidShape, "", "must be an object")]
    [DataRow("'eu'", QueryErrorKind.InvalidShape, "", "must be an object")]
    [DataRow("null", QueryErrorKind.InvalidShape, "", "must be an object")]
    [DataRow("{'load': {'$foo': 1}}", QueryErrorKind.UnknownOperator, "load", "unknown operator '$foo' at 'load'")]
    [DataRow("{'$foo': 1}", QueryErrorKind.UnknownOperator, "", "unknown operator '$foo' at the top level")]
    [DataRow("{'$nor': [{}]}", QueryErrorKind.UnknownOperator, "", "'$nor'")]
    [DataRow("{'$or': [{'a': 1}, {'b': {'$bar': 1}}]}", QueryErrorKind.UnknownOperator, "$or[1].b", "'$bar'")]
    [DataRow("{'tags': {'$in': 'a'}}", QueryErrorKind.InvalidOperand, "tags", "'$in' at 'tags' needs an array")]
    [DataRow("{'tags': {'$nin': {}}}", QueryErrorKind.InvalidOperand, "tags", "'$nin' at 'tags' needs an array")]
    [DataRow("{'tags': {'$in': ['a', ['b']]}}", QueryErrorKind.InvalidOperand, "tags", "element 1 of '$in'")]
    [DataRow("{'tags': {'$in': [{'a': 1}]}}", QueryErrorKind.InvalidOperand, "tags", "element 0 of '$in'")]
    [DataRow("{'x': {'$exists': 1}}", QueryErrorKind.InvalidOperand, "x", "needs true or false")]
    [DataRow("{'x': {'$exists': 'true'}}", QueryErrorKind.InvalidOperand, "x", "needs true or false")]
    [DataRow("{'x': {'$gt': {}}}", QueryErrorKind.InvalidOperand, "x", "'$gt' at 'x' needs a number or a string")]
    [DataRow("{'x': {'$gte': [1]}}", QueryErrorKind.InvalidOperand, "x", "needs a number or a string")]
    [DataRow("{'x': {'$lt': true}}", QueryErrorKind.InvalidOperand, "x", "not a boolean")]
    [DataRow("{'x': {'$lte': null}}", QueryErrorKind.InvalidOperand, "x", "not null")]
    [DataRow("{'x': {'$eq': [1]}}", QueryErrorKind.InvalidOperand, "x", "'$eq' at 'x' must be")]
    [DataRow("{'x': {'$ne': {'a': 1}}}", QueryErrorKind.InvalidOperand, "x", "'$ne' at 'x' must be")]
    [DataRow("{'x': {'$contains': null}}", QueryErrorKind.InvalidOperand, "x", "a string, number or boolean")]
    [DataRow("{'x': {'$ncontains': [1]}}", QueryErrorKind.InvalidOperand, "x", "a string, number or boolean")]
    [DataRow("{'x': [1, 2]}", QueryErrorKind.InvalidOperand, "x", "use $in")]
    [DataRow("{'x': {}}", QueryErrorKind.InvalidShape, "x", "has no operator")]
    [DataRow("{'zone': {'id': 'eu-1'}}", QueryErrorKind.InvalidShape, "zone", "dotted path such as 'zone.id'")]
    [DataRow("{'x': {'$gt': 1, 'a': 1}}", QueryErrorKind.InvalidShape, "x", "'a', which is not an operator")]
    [DataRow("{'$and': {}}", QueryErrorKind.InvalidOperand, "", "needs an array of filters")]
    [DataRow("{'$or': []}", QueryErrorKind.InvalidOperand, "", "at least one filter")]
    [DataRow("{'$or': [1]}", QueryErrorKind.InvalidShape, "$or[0]", "must be an object")]
    [DataRow("{'$not': []}", QueryErrorKind.InvalidShape, "$not", "must be an object")]
    [DataRow("{'$eq': 1}", QueryErrorKind.InvalidShape, "", "applies to a field")]
    [DataRow("{'$exists': true}", QueryErrorKind.InvalidShape, "", "applies to a field")]
    [DataRow("{'x': {'$or': [{}]}}", QueryErrorKind.InvalidShape, "x", "cannot apply to a field")]
    [DataRow("{'x': {'$and': [{}]}}", QueryErrorKind.InvalidShape, "x", "cannot apply to a field")]
    [DataRow("{'x': {'$not': [1]}}", QueryErrorKind.InvalidOperand, "x.$not", "cannot equal an array")]
    [DataRow("{'x': {'$not': {}}}", QueryErrorKind.InvalidShape, "x.$not", "has no operator")]
    [DataRow("{'x': {'$not': {'$foo': 1}}}", QueryErrorKind.UnknownOperator, "x.$not", "'$foo'")]
    [DataRow("{'a..b': 1}", QueryErrorKind.InvalidPath, "a..b", "empty segment")]
    [DataRow("{'.a': 1}", QueryErrorKind.InvalidPath, ".a", "empty segment")]
    [DataRow("{'a.': 1}", QueryErrorKind.InvalidPath, "a.", "empty segment")]
    [DataRow("{'': 1}", QueryErrorKind.InvalidPath, "", "empty segment")]
    [DataRow("{'a.$b': 1}", QueryErrorKind.InvalidPath, "a.$b", "starting with '$'")]
    [DataRow("{'$min': 5}", QueryErrorKind.InvalidOperand, "", "'$min' needs the path of a numeric field")]
    [DataRow("{'$max': 'a..b'}", QueryErrorKind.InvalidPath, "", "empty segment")]
    [DataRow("{'$min': 'load', '$max': 'load'}", QueryErrorKind.InvalidShape, "", "at most one selector")]
    [DataRow("{'$or': [{'$min': 'load'}]}", QueryErrorKind.InvalidShape, "$or[0]", "only appear at the top level")]
    [DataRow("{'$not': {'$max': 'load'}}", QueryErrorKind.InvalidShape, "$not", "only appear at the top level")]
    [DataRow("{'x': {'$max': 'load'}}", QueryErrorKind.InvalidShape, "x", "only appear at the top level")]
    public void TryParse_InvalidQuery_ReportsKindAndPath(string query, QueryErrorKind kind, string path, string message) =>
        AssertRefused(QueryJson.Parse(query), QueryLimits.Default, kind, path, message);

    [TestMethod]
    [DataRow("{'a': {'$in': [1]}}", 3, true, DisplayName = "depth counts the query, the operator object and the array")]
    [DataRow("{'a': {'$in': [1]}}", 2, false)]
    [DataRow("{'$or': [{}]}", 3, true)]
    [DataRow("{'$or': [{}]}", 2, false)]
    [DataRow("{'a': 1}", 1, true, DisplayName = "a scalar field adds no depth")]
    [DataRow("{'a': {'$not': {'$not': 1}}}", 3, true)]
    [DataRow("{'a': {'$not': {'$not': {'$gt': 1}}}}", 3, false)]
    public void TryParse_MaxDepth_CountsNestedObjectsAndArrays(string query, int maxDepth, bool accepted)
    {
        var ok = MetadataQuery.TryParse(QueryJson.Parse(query), new QueryLimits { MaxDepth = maxDepth }, out _, out var error);
        Assert.AreEqual(accepted, ok, error?.Message);
        Assert.AreEqual(accepted ? null : QueryErrorKind.TooDeep, error?.Kind);
    }

    public static IEnumerable<object[]> OverLimits =>
    [
        ["20 nested $not: the 16th $not holds the 17th level", Nested("{'$not': ", 20, "{}"), QueryLimits.Default, QueryErrorKind.TooDeep, string.Join(".", Enumerable.Repeat("$not", 16))],
        ["4 fields over 3 nodes", "{'a': 1, 'b': 2, 'c': 3, 'd': 4}", new QueryLimits { MaxNodes = 3 }, QueryErrorKind.TooLarge, "d"],
        ["$in elements count as nodes", "{'a': {'$in': [1, 2, 3]}}", new QueryLimits { MaxNodes = 3 }, QueryErrorKind.TooLarge, "a"],
        ["operators count as nodes", "{'a': {'$gt': 1, '$lt': 5}, '$or': [{'b': 1}]}", new QueryLimits { MaxNodes = 3 }, QueryErrorKind.TooLarge, "$or[0].b"],
        ["$in longer than the array limit", "{'a': {'$in': [1, 2, 3]}}", new QueryLimits { MaxArrayLength = 2 }, QueryErrorKind.TooLarge, "a"],
        ["$or longer than the array limit", "{'$or': [{}, {}, {}]}", new QueryLimits { MaxArrayLength = 2 }, QueryErrorKind.TooLarge, ""],
        ["a long string constant", "{'a': 'abcd'}", new QueryLimits { MaxStringLength = 3 }, QueryErrorKind.TooLarge, "a"],
        ["a long field path", "{'abcd': 1}", new QueryLimits { MaxStringLength = 3 }, QueryErrorKind.TooLarge, "abcd"],
        ["a long selector path", "{'$min': 'abcd'}", new QueryLimits { MaxStringLength = 3 }, QueryErrorKind.TooLarge, ""],
        ["129 $in elements by default", $"{{'a': {{'$in': [{string.Join(",", Enumerable.Range(0, 129))}]}}}}", QueryLimits.Default, QueryErrorKind.TooLarge, "a"],
        ["257 fields by default", $"{{{string.Join(",", Enumerable.Range(0, 257).Select(i => $"'f{i}': 1"))}}}", QueryLimits.Default, QueryErrorKind.TooLarge, "f256"],
    ];

    [TestMethod]
    [DynamicData(nameof(OverLimits))]
    public void TryParse_OverALimit_ReportsTooDeepOrTooLarge(string scenario, string query, QueryLimits limits, QueryErrorKind kind, string path)
    {
        Assert.IsFalse(MetadataQuery.TryParse(QueryJson.Parse(query), limits, out _, out var error), scenario);
        Assert.AreEqual(kind, error.Kind, error.Message);
        Assert.AreEqual(path, error.Path, error.Message);
    }

    [TestMethod]
    public void TryParse_AtTheDefaultLimits_Accepts()
    {
        var deep = Nested("{'$not': ", 15, "{}"); // depth 16
        var wide = $"{{'a': {{'$in': [{string.Join(",", Enumerable.Range(0, 128))}]}}}}";

        Assert.IsTrue(MetadataQuery.TryParse(QueryJson.Parse(deep), null, out _, out var deepError), deepError?.Message);
        Assert.IsTrue(MetadataQuery.TryParse(QueryJson.Parse(wide), null, out _, out var wideError), wideError?.Message);
    }

    [TestMethod]
    [DataRow("{'load': {'$foo': 1}}", "unknown operator '$foo' at 'load'")]
    [DataRow("{'tags': {'$in': 'a'}}", "'$in' at 'tags' needs an array, not a string")]
    [DataRow("{'$or': [{'a': 1}, {'b': {'$gt': {}}}]}", "'$gt' at '$or[1].b' needs a number or a string, not an object")]
    [DataRow("{'$or': [{'$min': 'load'}]}", "the selector '$min' may only appear at the top level of the query, not at '$or[0]'")]
    public void TryParse_ProtocolExamples_GiveTheDocumentedMessage(string query, string message)
    {
        Assert.IsFalse(MetadataQuery.TryParse(QueryJson.Parse(query), null, out _, out var error));
        Assert.AreEqual(message, error.Message);
    }

    [TestMethod]
    public void Parse_InvalidQuery_ThrowsQueryExceptionWithKindAndPath()
    {
        var ex = Assert.ThrowsExactly<QueryException>(() => QueryJson.Query("{'tags': {'$in': 3}}"));

        Assert.IsInstanceOfType<FormatException>(ex);
        Assert.AreEqual(QueryErrorKind.InvalidOperand, ex.Kind);
        Assert.AreEqual("tags", ex.Path);
        Assert.AreEqual(ex.Error.Message, ex.Message);
    }

    [TestMethod]
    public void Parse_Null_ThrowsArgumentNullException() =>
        Assert.ThrowsExactly<ArgumentNullException>(() => MetadataQuery.Parse(null!));

    [TestMethod]
    public void TryParse_Null_IsRefusedAsMissing() =>
        AssertRefused(null, null, QueryErrorKind.InvalidShape, "", "the query is missing");

    [TestMethod]
    public void TryParse_JsonNetOnlyTokenTypes_AreRefused() =>
        AssertRefused(new JObject { ["at"] = new JValue(DateTime.UnixEpoch) }, null, QueryErrorKind.InvalidOperand, "at", "must be a string, number, boolean or null");

    [TestMethod]
    public void ToString_IsTheCompactJson() =>
        Assert.AreEqual("""{"region":"eu","$min":"load"}""", QueryJson.Query("{ 'region' : 'eu', '$min': 'load' }").ToString());

    private static void AssertRefused(JToken? query, QueryLimits? limits, QueryErrorKind kind, string path, string message)
    {
        Assert.IsFalse(MetadataQuery.TryParse(query, limits, out var compiled, out var error));
        Assert.IsNull(compiled);
        Assert.AreEqual(kind, error.Kind, error.Message);
        Assert.AreEqual(path, error.Path, error.Message);
        Assert.Contains(message, error.Message);
    }

    private static string Nested(string open, int count, string inner) =>
        string.Concat(Enumerable.Repeat(open, count)) + inner + new string('}', count);
}
