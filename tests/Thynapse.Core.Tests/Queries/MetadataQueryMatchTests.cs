namespace Thynapse.Core.Tests;

/// <summary>
/// What each operator does with each type, missing fields, nulls, lists, versions and nested paths
/// (PROTOCOL.md §11). Every row runs against <see cref="Cell"/> unless it says otherwise.
/// </summary>
[TestClass]
public sealed class MetadataQueryMatchTests
{
    private static readonly JObject Cell = QueryJson.Object("""
        {
          'region': 'eu', 'load': 0.25, 'cpus': 8, 'ratio': 2.0, 'name': 'renderer-7', 'enabled': true, 'numstr': '42',
          'version': '2.10.0', 'pre': '1.0.0-alpha', 'tagged': 'v3.1.4',
          'guilds': [123, 456, 1152921504606846977], 'tags': ['gpu', 'fast'], 'ports': [80, 8080],
          'mixed': [1, 'one', true, null, [2], {'x': 3}], 'empty': [], 'nothing': null,
          'zone': {'id': 'eu-1', 'rack': {'row': 3}}, 'dotted.key': 1,
          'big': 9223372036854775807, 'huge': 18446744073709551616
        }
        """);

    [TestMethod]
    [DataRow("{'region': 'eu'}", true)]
    [DataRow("{'region': 'us'}", false)]
    [DataRow("{'region': 'EU'}", false, DisplayName = "strings compare case-sensitively")]
    [DataRow("{'region': {'$eq': 'eu'}}", true)]
    [DataRow("{'cpus': 8}", true)]
    [DataRow("{'cpus': 8.0}", true, DisplayName = "an integer equals the same float")]
    [DataRow("{'ratio': 2}", true)]
    [DataRow("{'load': 0.25}", true)]
    [DataRow("{'cpus': '8'}", false, DisplayName = "a number never equals a string")]
    [DataRow("{'numstr': 42}", false)]
    [DataRow("{'enabled': true}", true)]
    [DataRow("{'enabled': 1}", false, DisplayName = "a boolean never equals a number")]
    [DataRow("{'enabled': 'true'}", false)]
    [DataRow("{'guilds': 1152921504606846977}", true)]
    [DataRow("{'guilds': 1152921504606846976}", false, DisplayName = "64-bit integers compare exactly, not as doubles")]
    [DataRow("{'big': 9223372036854775807}", true)]
    [DataRow("{'huge': 18446744073709551616}", true, DisplayName = "integers beyond 64 bits compare as doubles")]
    public void Matches_Equality_FollowsTypes(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{'zone.id': 'eu-1'}", true)]
    [DataRow("{'zone.rack.row': 3}", true)]
    [DataRow("{'zone.rack.row': 4}", false)]
    [DataRow("{'zone.missing.row': 3}", false)]
    [DataRow("{'region.sub': 'eu'}", false, DisplayName = "a path through a string is missing")]
    [DataRow("{'guilds.0': 123}", false, DisplayName = "arrays are not traversed by paths")]
    [DataRow("{'dotted.key': 1}", false, DisplayName = "a key containing a dot cannot be addressed")]
    [DataRow("{'zone.rack': {'$exists': true}}", true)]
    [DataRow("{'zone.rack.col': {'$exists': false}}", true)]
    [DataRow("{'zone': {'$gt': 0}}", false, DisplayName = "an object compares with nothing")]
    [DataRow("{'zone': {'$contains': 'id'}}", false)]
    public void Matches_NestedPaths_ResolveThroughObjectsOnly(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{'absent': null}", true)]
    [DataRow("{'nothing': null}", true, DisplayName = "null counts as missing")]
    [DataRow("{'region': null}", false)]
    [DataRow("{'empty': null}", false, DisplayName = "an empty list is present")]
    [DataRow("{'absent': 'x'}", false)]
    [DataRow("{'nothing': 'x'}", false)]
    [DataRow("{'absent': {'$ne': 'x'}}", true, DisplayName = "a missing field satisfies $ne")]
    [DataRow("{'nothing': {'$ne': null}}", false)]
    [DataRow("{'region': {'$ne': null}}", true)]
    [DataRow("{'absent': {'$gt': 0}}", false)]
    [DataRow("{'nothing': {'$lt': 1}}", false)]
    [DataRow("{'region': {'$exists': true}}", true)]
    [DataRow("{'absent': {'$exists': true}}", false)]
    [DataRow("{'absent': {'$exists': false}}", true)]
    [DataRow("{'nothing': {'$exists': true}}", false)]
    [DataRow("{'empty': {'$exists': true}}", true)]
    public void Matches_MissingAndNull_AreTheSame(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{'region': {'$ne': 'us'}}", true)]
    [DataRow("{'region': {'$ne': 'eu'}}", false)]
    [DataRow("{'cpus': {'$ne': '8'}}", true)]
    [DataRow("{'tags': 'gpu'}", true, DisplayName = "equality with a list: some element equals")]
    [DataRow("{'tags': 'cpu'}", false)]
    [DataRow("{'guilds': 456}", true)]
    [DataRow("{'mixed': true}", true)]
    [DataRow("{'mixed': 'one'}", true)]
    [DataRow("{'mixed': 2}", false, DisplayName = "nested lists are not searched")]
    [DataRow("{'mixed': 3}", false, DisplayName = "objects in lists are not searched")]
    [DataRow("{'mixed': null}", false, DisplayName = "a null constant matches only a missing field")]
    [DataRow("{'empty': 'x'}", false)]
    [DataRow("{'tags': {'$ne': 'gpu'}}", false, DisplayName = "$ne with a list: no element equals")]
    [DataRow("{'tags': {'$ne': 'cpu'}}", true)]
    public void Matches_EqualityWithLists_AnyElement(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{'load': {'$lt': 0.5}}", true)]
    [DataRow("{'load': {'$lt': 0.25}}", false)]
    [DataRow("{'load': {'$lte': 0.25}}", true)]
    [DataRow("{'load': {'$gt': 0}}", true)]
    [DataRow("{'cpus': {'$gte': 8}}", true)]
    [DataRow("{'cpus': {'$gt': 8}}", false)]
    [DataRow("{'cpus': {'$gt': 7.5}}", true)]
    [DataRow("{'ratio': {'$lt': 3}}", true)]
    [DataRow("{'big': {'$gt': 9223372036854775806}}", true)]
    [DataRow("{'huge': {'$gt': 9223372036854775807}}", true)]
    [DataRow("{'cpus': {'$gt': '1'}}", false, DisplayName = "number against string is false, not an error")]
    [DataRow("{'numstr': {'$gt': 1}}", false)]
    [DataRow("{'region': {'$gt': 'a'}}", true)]
    [DataRow("{'region': {'$lt': 'f'}}", true)]
    [DataRow("{'region': {'$gt': 'eu'}}", false)]
    [DataRow("{'name': {'$gte': 'renderer'}}", true)]
    [DataRow("{'region': {'$lt': 'Z'}}", false, DisplayName = "strings order by UTF-16 code unit")]
    [DataRow("{'enabled': {'$gt': 0}}", false, DisplayName = "booleans are unordered")]
    [DataRow("{'ports': {'$gt': 8000}}", true, DisplayName = "ordering with a list: some element")]
    [DataRow("{'ports': {'$lt': 80}}", false)]
    [DataRow("{'ports': {'$gt': 100, '$lt': 1000}}", true, DisplayName = "each operator may hold for a different element")]
    [DataRow("{'load': {'$gt': 0.1, '$lt': 0.2}}", false)]
    public void Matches_Ordering_NumbersAndStrings(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{'version': {'$gt': '2.9.1'}}", true, DisplayName = "2.10.0 > 2.9.1 as versions")]
    [DataRow("{'version': {'$gte': '2.10.0'}}", true)]
    [DataRow("{'version': {'$lt': '2.10.1'}}", true)]
    [DataRow("{'version': {'$gt': '10.0.0'}}", false)]
    [DataRow("{'version': {'$gte': 'v2.0.0'}}", true)]
    [DataRow("{'version': 'v2.10.0'}", true, DisplayName = "the v prefix is ignored")]
    [DataRow("{'version': '2.10.0+build.5'}", true, DisplayName = "build metadata is ignored")]
    [DataRow("{'version': '2.10'}", false, DisplayName = "two-part strings are not versions")]
    [DataRow("{'version': {'$gt': '2.9'}}", false, DisplayName = "not both versions: ordinal")]
    [DataRow("{'pre': {'$lt': '1.0.0'}}", true, DisplayName = "a prerelease ranks below its release")]
    [DataRow("{'pre': {'$lt': '1.0.0-alpha.1'}}", true)]
    [DataRow("{'pre': {'$lt': '1.0.0-beta'}}", true)]
    [DataRow("{'pre': {'$gt': '0.9.9'}}", true)]
    [DataRow("{'tagged': {'$gt': '3.1.3'}}", true)]
    [DataRow("{'tagged': {'$eq': '3.1.4'}}", true)]
    [DataRow("{'name': {'$gt': '1.0.0'}}", true, DisplayName = "a non-version value compares ordinally")]
    [DataRow("{'version': {'$in': ['1.0.0', '2.10.0+x']}}", true)]
    [DataRow("{'version': {'$contains': '10'}}", true, DisplayName = "$contains on a version string is a substring test")]
    public void Matches_Versions_CompareBySemVerPrecedence(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{'region': {'$in': ['us', 'eu']}}", true)]
    [DataRow("{'region': {'$in': ['us', 'ap']}}", false)]
    [DataRow("{'region': {'$in': []}}", false)]
    [DataRow("{'tags': {'$in': ['cpu', 'fast']}}", true, DisplayName = "$in with a list: the lists share an element")]
    [DataRow("{'tags': {'$in': ['cpu', 'slow']}}", false)]
    [DataRow("{'absent': {'$in': [null, 'x']}}", true, DisplayName = "null in $in matches a missing field")]
    [DataRow("{'nothing': {'$in': [null]}}", true)]
    [DataRow("{'cpus': {'$in': [1, 8.0]}}", true)]
    [DataRow("{'cpus': {'$in': ['8']}}", false)]
    [DataRow("{'region': {'$nin': ['us', 'ap']}}", true)]
    [DataRow("{'region': {'$nin': ['eu']}}", false)]
    [DataRow("{'absent': {'$nin': ['x']}}", true)]
    [DataRow("{'absent': {'$nin': [null]}}", false)]
    [DataRow("{'tags': {'$nin': ['gpu']}}", false)]
    [DataRow("{'region': {'$nin': []}}", true)]
    public void Matches_InAndNin_OneOfTheConstants(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{'guilds': {'$contains': 123}}", true)]
    [DataRow("{'guilds': {'$contains': 124}}", false)]
    [DataRow("{'guilds': {'$contains': 123.0}}", true)]
    [DataRow("{'tags': {'$contains': 'gpu'}}", true)]
    [DataRow("{'mixed': {'$contains': true}}", true)]
    [DataRow("{'name': {'$contains': 'der'}}", true, DisplayName = "$contains on a string is a substring test")]
    [DataRow("{'name': {'$contains': 'DER'}}", false)]
    [DataRow("{'name': {'$contains': ''}}", true)]
    [DataRow("{'cpus': {'$contains': 8}}", false, DisplayName = "a number is not a list")]
    [DataRow("{'numstr': {'$contains': 4}}", false)]
    [DataRow("{'absent': {'$contains': 'x'}}", false)]
    [DataRow("{'empty': {'$contains': 1}}", false)]
    [DataRow("{'guilds': {'$ncontains': 789}}", true)]
    [DataRow("{'guilds': {'$ncontains': 123}}", false)]
    [DataRow("{'absent': {'$ncontains': 'x'}}", true)]
    public void Matches_Contains_ListElementOrSubstring(string query, bool expected) => AssertMatches(query, expected);

    [TestMethod]
    [DataRow("{}", true)]
    [DataRow("{'region': 'eu', 'cpus': 8}", true)]
    [DataRow("{'region': 'eu', 'cpus': 4}", false)]
    [DataRow("{'load': {'$lt': 0.5}, 'version': {'$gte': '2.0.0'}}", true)]
    [DataRow("{'$and': [{'region': 'eu'}, {'cpus': 8}]}", true)]
    [DataRow("{'$and': [{'region': 'eu'}, {'cpus': 4}]}", false)]
    [DataRow("{'$or': [{'region': 'us'}, {'cpus': 8}]}", true)]
    [DataRow("{'$or': [{'region': 'us'}, {'cpus': 4}]}", false)]
    [DataRow("{'$or': [{}]}", true)]
    [DataRow("{'$not': {'region': 'us'}}", true)]
    [DataRow("{'$not': {'region': 'eu'}}", false)]
    [DataRow("{'$not': {}}", false)]
    [DataRow("{'$not': {'absent': 1}}", true)]
    [DataRow("{'$not': {'$or': [{'region': 'us'}, {'cpus': 4}]}}", true)]
    [DataRow("{'load': {'$not': {'$gt': 0.5}}}", true)]
    [DataRow("{'load': {'$not': {'$lt': 0.5}}}", false)]
    [DataRow("{'absent': {'$not': {'$gt': 0.5}}}", true, DisplayName = "a missing field satisfies a field's $not")]
    [DataRow("{'region': {'$not': 'us'}}", true)]
    [DataRow("{'load': {'$gt': 0, '$not': {'$gt': 0.2}}}", false)]
    [DataRow("{'region': 'eu', '$or': [{'cpus': {'$gt': 16}}, {'tags': 'gpu'}]}", true)]
    [DataRow("{'$and': [{'$or': [{'region': 'us'}, {'region': 'ap'}]}, {'cpus': 8}]}", false)]
    [DataRow("{'$or': [{'$and': [{'region': 'eu'}, {'load': {'$lt': 0.1}}]}, {'$not': {'tags': 'cpu'}}]}", true)]
    public void Matches_Logical_CombineFilters(string query, bool expected) => AssertMatches(query, expected);

    private static readonly JObject ProtocolExampleCell = QueryJson.Object("""
        {'region': 'eu', 'load': 0.25, 'cpus': 8, 'version': '2.10.0', 'tags': ['gpu', 'fast'],
         'guilds': [123, 456], 'zone': {'id': 'eu-1'}, 'name': 'renderer-7', 'spare': null}
        """);

    [TestMethod]
    [DataRow("{'region': 'eu', 'cpus': 8.0}", true)]
    [DataRow("{'load': {'$lt': 0.5}, 'version': {'$gte': '2.9.1'}}", true)]
    [DataRow("{'guilds': {'$contains': 123}}", true)]
    [DataRow("{'guilds': 123}", true)]
    [DataRow("{'tags': {'$in': ['cpu', 'fast']}}", true)]
    [DataRow("{'tags': {'$ne': 'gpu'}}", false)]
    [DataRow("{'name': {'$contains': 'der'}}", true)]
    [DataRow("{'zone.id': 'eu-1'}", true)]
    [DataRow("{'zone.rack': {'$exists': false}}", true)]
    [DataRow("{'spare': null}", true)]
    [DataRow("{'spare': {'$exists': true}}", false)]
    [DataRow("{'owner': {'$ne': 'bob'}}", true)]
    [DataRow("{'cpus': '8'}", false)]
    [DataRow("{'cpus': {'$gt': '1'}}", false)]
    [DataRow("{'$or': [{'region': 'us'}, {'$not': {'tags': 'cpu'}}]}", true)]
    [DataRow("{'load': {'$not': {'$gt': 0.2}}}", false)]
    public void Matches_ProtocolExamples_HoldAsDocumented(string query, bool expected) =>
        Assert.AreEqual(expected, QueryJson.Query(query).Matches(ProtocolExampleCell), query);

    [TestMethod]
    public void Matches_IntegersBeyond64Bits_EqualTheirDouble() =>
        Assert.IsTrue(QueryJson.Query("{'huge': 1.8446744073709552e19}").Matches(Cell));

    public static IEnumerable<object[]> HandBuiltValues =>
    [
        ["float", new JValue(0.5f), "{'a': 0.5}", true],
        ["decimal", new JValue(0.5m), "{'a': {'$lt': 1}}", true],
        ["ulong", new JValue(ulong.MaxValue), "{'a': {'$gt': 9223372036854775807}}", true],
        ["int", JToken.FromObject(3), "{'a': 3.0}", true],
        ["NaN equals nothing", new JValue(double.NaN), "{'a': {'$lt': 1}}", false],
        ["NaN satisfies $ne", new JValue(double.NaN), "{'a': {'$ne': 1}}", true],
        ["a DateTime is no string", new JValue(new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc)), "{'a': {'$gt': '2000'}}", false],
        ["a DateTime exists", new JValue(new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc)), "{'a': {'$exists': true}}", true],
        ["a GUID equals nothing", new JValue(Guid.Empty), "{'a': '00000000-0000-0000-0000-000000000000'}", false],
    ];

    [TestMethod]
    [DynamicData(nameof(HandBuiltValues))]
    public void Matches_HandBuiltValues_ReadWithoutSurprises(string scenario, JValue value, string query, bool expected) =>
        Assert.AreEqual(expected, QueryJson.Query(query).Matches(new JObject { ["a"] = value }), scenario);

    [TestMethod]
    [DataRow("{}", true)]
    [DataRow("{'a': null}", true)]
    [DataRow("{'a': {'$exists': true}}", false)]
    [DataRow("{'a': {'$ne': 1}}", true)]
    public void Matches_NullMetadata_EveryFieldMissing(string query, bool expected) =>
        Assert.AreEqual(expected, QueryJson.Query(query).Matches(null));

    [TestMethod]
    public void Matches_SeesMetadataUpdates_WithoutRecompiling()
    {
        var query = QueryJson.Query("{'load': {'$lt': 0.5}}");
        var metadata = new JObject { ["load"] = 0.9 };
        Assert.IsFalse(query.Matches(metadata));

        metadata["load"] = 0.1;

        Assert.IsTrue(query.Matches(metadata));
    }

    private static void AssertMatches(string query, bool expected) =>
        Assert.AreEqual(expected, QueryJson.Query(query).Matches(Cell), query);
}
