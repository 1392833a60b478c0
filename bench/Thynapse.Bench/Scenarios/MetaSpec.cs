using System.Globalization;
using Newtonsoft.Json.Linq;

namespace Thynapse.Bench.Scenarios;

/// <summary>
/// Scenario 11's cells: the metadata of cell number <c>i</c> (deterministic, so the orchestrator, every cell process
/// and the NATS stand-in agree on who matches without talking), and the query the publisher targets.
/// </summary>
/// <remarks>
/// region alternates eu/us; load runs over 0.00…0.99; a third of the cells run 1.x.0, the rest 2.x.0 with x up to 11
/// (so "2.10.0" ≥ "2.0.0" must compare as versions, not strings), and some of the 2.0.0 ones are "2.0.0-rc.1", which
/// a version comparison puts below 2.0.0. About one cell in six matches the query.
/// </remarks>
internal static class MetaSpec
{
    /// <summary>The target of every published event (PROTOCOL.md §11): eu, load below 0.5, version 2.0.0 or later.</summary>
    public const string Query = "{\"region\":\"eu\",\"load\":{\"$lt\":0.5},\"version\":{\"$gte\":\"2.0.0\"}}";

    /// <summary>The channel every cell anycatches (one service).</summary>
    public const string Channel = "meta.jobs";

    /// <summary>NATS stand-in: the eligible set as a subject (what a NATS user would have to compute and encode).</summary>
    public const string EligibleSubject = "meta.jobs.eligible";

    /// <summary>NATS stand-in: what the other 5/6 of the connections subscribe to (never published on).</summary>
    public const string OtherSubject = "meta.jobs.other";

    public static (string Region, double Load, string Version, bool Matches) For(int i)
    {
        var region = i % 2 == 0 ? "eu" : "us";
        var load = i * 37 % 100 / 100.0;
        var major = i % 3 == 0 ? 1 : 2;
        var minor = i / 6 % 12;
        var prerelease = major == 2 && minor == 0 && i / 72 % 2 == 0;
        var version = prerelease ? "2.0.0-rc.1" : string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}.0");
        return (region, load, version, region == "eu" && load < 0.5 && major >= 2 && !prerelease);
    }

    public static bool Matches(int i) => For(i).Matches;

    public static JObject Metadata(int i)
    {
        var (region, load, version, _) = For(i);
        return new JObject { ["region"] = region, ["load"] = load, ["version"] = version, ["index"] = i };
    }

    /// <summary>Cells in [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>) that match.</summary>
    public static int MatchingIn(int offset, int count) => Enumerable.Range(offset, count).Count(Matches);
}
