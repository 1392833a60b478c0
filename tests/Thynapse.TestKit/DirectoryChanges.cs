using System.Diagnostics;
using Newtonsoft.Json.Linq;

namespace Thynapse.TestKit;

/// <summary>
/// Times a mesh's cell directory (PROTOCOL.md §12.8): a raw cell joins one transmitter, changes its <c>META</c> a number
/// of times and leaves; each change is timed until a <c>WTCH</c> on every other transmitter has its <c>CELL</c> notice.
/// </summary>
public static class DirectoryChanges
{
    /// <summary>The time of each change (the join, every <c>META</c>, the leave), in ms, until the last watcher heard it.</summary>
    /// <param name="cellEndpoint">Where the cell joins.</param>
    /// <param name="watcherEndpoints">The other transmitters, each watched by a raw client.</param>
    /// <param name="service">The cell's service, watched.</param>
    /// <param name="metaChanges">How many times the cell changes its metadata.</param>
    public static List<double> Measure(string cellEndpoint, IEnumerable<string> watcherEndpoints, string service, int metaChanges = 20)
    {
        var watchers = watcherEndpoints.Select(endpoint => RawClient.Welcomed(endpoint, "watcher")).ToList();
        try
        {
            foreach (var watcher in watchers)
            {
                watcher.SendJson("WTCH", new JObject { ["watch"] = 1, ["service"] = service });
                watcher.Expect("OKAY", "OKAY for WTCH");
            }

            var times = new List<double>();
            using var cell = new RawClient(cellEndpoint);
            var watch = Stopwatch.StartNew();
            cell.Hello(service);
            times.Add(Converge(watchers, watch, "joined"));
            for (var round = 1; round <= metaChanges; round++)
            {
                watch.Restart();
                cell.SendJson("META", new JObject { ["metadata"] = new JObject { ["round"] = round } });
                cell.Expect("OKAY", "OKAY for META");
                times.Add(Converge(watchers, watch, "updated"));
            }

            watch.Restart();
            cell.Send("J GBYE {}");
            times.Add(Converge(watchers, watch, "left"));
            return times;
        }
        finally
        {
            watchers.ForEach(w => w.Dispose());
        }
    }

    /// <summary>Waits for the notice on every watcher in turn: the time when the last one had it.</summary>
    private static double Converge(List<RawClient> watchers, Stopwatch watch, string change)
    {
        foreach (var watcher in watchers)
        {
            var notice = watcher.Expect("CELL", $"CELL {change}").Payload;
            Assert.AreEqual(change, (string?)notice["change"]);
        }

        return watch.Elapsed.TotalMilliseconds;
    }
}
