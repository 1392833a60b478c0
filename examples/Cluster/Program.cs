// Cluster: three transmitters in one mesh, with cells spread across them, as on three hosts.
//
//   dotnet run --project examples/Cluster
//
// 1. Starts three transmitter processes (this program again, hosting the transmitter library as thynapse-transmitter
//    does); B and C join A's mesh (--peer), and each learns the others.
// 2. On each transmitter: a "dashboard" cell multicatching news.>, and a "billing" worker handling billing.charge with
//    acknowledgements (anycatch). A shop cell on A publishes.
// 3. News published at A reaches the dashboard on every transmitter, once each (multicatch across hosts); charges are
//    shared by the three workers, each charge handled by one of them (anycatch across hosts).
// 4. Halfway through the charges, B is killed (kill -9). Its cells re-join A or C with the same THID and subscriptions;
//    the program prints how long that took, and that every charge whose completion was confirmed was handled.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Thynapse.Cell;
using Thynapse.Core;
using Thynapse.Transmitter;

if (args is ["transmitter", .. var seeds])
{
    await RunTransmitterAsync(seeds);
    return;
}

const int news = 300, charges = 3_000;
var a = await TransmitterNode.StartAsync("A");
var b = await TransmitterNode.StartAsync("B", a.Endpoint);
var c = await TransmitterNode.StartAsync("C", a.Endpoint);
TransmitterNode[] nodes = [a, b, c];
await Task.WhenAll(nodes.Select(n => n.MeshedAsync(others: 2)));
Console.WriteLine($"Mesh of three: {string.Join(", ", nodes.Select(n => $"{n.Name} {n.Endpoint}"))}");

var cells = new List<Cell>();
try
{
    // A dashboard and a billing worker on each transmitter.
    var newsCaught = new ConcurrentDictionary<string, int>();
    var handled = new ConcurrentDictionary<Thid, string>();
    var handledBy = new ConcurrentDictionary<string, int>();
    foreach (var node in nodes)
    {
        var dashboard = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = node.Endpoint, Service = "dashboard" });
        cells.Add(dashboard);
        var feed = await dashboard.SubscribeAsync("news.>", Catch.Multi);
        var name = $"dashboard@{node.Name}";
        feed.Subscribe(_ => newsCaught.AddOrUpdate(name, 1, (_, n) => n + 1));

        var worker = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = node.Endpoint, Service = "billing" });
        cells.Add(worker);
        var workerName = $"billing@{node.Name}";
        await worker.HandleAsync("billing.charge", async (charge, token) =>
        {
            await Task.Delay(1, token); // the work
            handled[charge.Id] = workerName;
            handledBy.AddOrUpdate(workerName, 1, (_, n) => n + 1);
        }, new HandlerOptions { Prefetch = 16 });
    }

    await using var shop = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = a.Endpoint, Service = "shop" });

    // Multicatch across hosts: every dashboard gets every headline.
    for (var i = 0; i < news; i++)
    {
        await shop.PublishAsync("news.headline", $"{{\"n\":{i}}}");
    }

    await WaitAsync(() => newsCaught.Values.Sum() >= news * nodes.Length, TimeSpan.FromSeconds(10));
    Console.WriteLine($"news: {news} published at A; caught {string.Join(", ", newsCaught.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}");

    // Anycatch across hosts, with acknowledgements; B dies halfway.
    var completion = new PublishOptions { Await = PublishAwait.Completion };
    var outcomes = new List<Task<PublishResult>>();
    var moved = cells.Where(cell => cell.TransmitterId == b.Id).ToList();
    var failover = Stopwatch.StartNew();
    var back = moved.Select(cell => cell.State.Skip(1).FirstAsync(s => s == CellState.Connected).ToTask()).ToList();
    for (var i = 0; i < charges; i++)
    {
        outcomes.Add(shop.PublishAsync("billing.charge", $"{{\"order\":{i}}}", completion));
        if (i == charges / 2)
        {
            b.Kill();
            failover.Restart();
            Console.WriteLine($"killed B (kill -9) after publishing {i + 1} of {charges} charges; {moved.Count} cells were on it");
        }
    }

    await Task.WhenAll(back).WaitAsync(TimeSpan.FromSeconds(30));
    Console.WriteLine($"B's cells serve again through {string.Join(", ", moved.Select(m => nodes.First(n => n.Id == m.TransmitterId).Name))} " +
        $"{failover.ElapsedMilliseconds} ms after the kill (same THIDs, same subscriptions)");

    var results = await Task.WhenAll(outcomes).WaitAsync(TimeSpan.FromSeconds(60));
    var confirmed = results.Count(r => r.Status == PublishStatus.Completed);
    var lost = results.Where(r => r.Status == PublishStatus.Completed).Count(r => !handled.ContainsKey(r.Id));
    Console.WriteLine($"charges: {confirmed} of {charges} confirmed complete; handled by {string.Join(", ", handledBy.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}");
    Console.WriteLine(lost == 0
        ? "nothing confirmed was lost: every confirmed charge was handled by a worker"
        : $"{lost} confirmed charges were never handled");
}
finally
{
    foreach (var cell in cells)
    {
        await cell.DisposeAsync();
    }

    foreach (var node in nodes)
    {
        node.Dispose();
    }
}

static async Task WaitAsync(Func<bool> condition, TimeSpan timeout)
{
    var watch = Stopwatch.StartNew();
    while (!condition())
    {
        if (watch.Elapsed > timeout)
        {
            throw new TimeoutException($"not done within {timeout.TotalSeconds:0} s");
        }

        await Task.Delay(20);
    }
}

// A transmitter process: the library hosted as thynapse-transmitter hosts it, reporting its mesh on standard output.
static async Task RunTransmitterAsync(string[] seeds)
{
    await using var transmitter = Transmitter.Start(TransmitterOptions.Default with
    {
        CommandEndpoint = "tcp://127.0.0.1:*",
        EventsEndpoint = "tcp://127.0.0.1:*",
        Peers = seeds,
    });
    Console.WriteLine($"ready {transmitter.Id} {transmitter.CommandEndpoint}");
    var input = Task.Run(Console.In.ReadToEnd); // until the example closes our input, or kills us (Console.In reads synchronously)
    var known = -1;
    while (!input.IsCompleted)
    {
        var alive = transmitter.Peers.Count(p => p.State == PeerState.Alive);
        if (alive != known)
        {
            Console.WriteLine($"members {alive}");
            known = alive;
        }

        await Task.WhenAny(input, Task.Delay(50));
    }
}

/// <summary>One transmitter process of the example.</summary>
internal sealed class TransmitterNode : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private TransmitterNode(string name, Process process)
    {
        Name = name;
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _lines.Enqueue(line);
            }
        };
        _process.BeginOutputReadLine();
    }

    public string Name { get; }

    public Thid Id { get; private set; }

    public string Endpoint { get; private set; } = "";

    public static async Task<TransmitterNode> StartAsync(string name, params string[] seeds)
    {
        // Run as an apphost (dotnet run) or through the dotnet host (dotnet Cluster.dll): start this program again.
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(TransmitterNode).Assembly.Location);
        }

        info.ArgumentList.Add("transmitter");
        foreach (var seed in seeds)
        {
            info.ArgumentList.Add(seed);
        }

        var node = new TransmitterNode(name, Process.Start(info)!);
        var ready = (await node.LineAsync("ready ")).Split(' ');
        node.Id = Thid.Parse(ready[1]);
        node.Endpoint = ready[2];
        return node;
    }

    /// <summary>Waits until this transmitter holds <paramref name="others"/> alive members.</summary>
    public Task MeshedAsync(int others) => LineAsync($"members {others}");

    public void Kill() => _process.Kill();

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close(); // it shuts down when its input closes
            if (!_process.WaitForExit(5_000))
            {
                _process.Kill();
            }
        }

        _process.Dispose();
    }

    private async Task<string> LineAsync(string prefix)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            if (_process.HasExited || watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"transmitter {Name} did not print '{prefix}…' ({(_process.HasExited ? "it exited" : "30 s")})");
            }

            await Task.Delay(20);
        }
    }
}
