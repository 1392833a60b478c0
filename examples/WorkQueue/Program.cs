// Work queue: a producer publishes jobs that three worker processes share (anycatch with acknowledgements).
// Halfway through, one worker is killed (kill -9); its unacknowledged jobs go to the others, so every job
// completes and nothing is lost.
//
//   dotnet run --project examples/WorkQueue            (transmitter and producer here, workers as child processes)
using System.Collections.Concurrent;
using System.Diagnostics;
using Thynapse.Cell;
using Thynapse.Transmitter;

if (args is ["worker", var workerEndpoint, var workerName])
{
    await RunWorkerAsync(workerEndpoint, workerName);
    return;
}

const int jobs = 2_000;
await using var transmitter = Transmitter.Start(TransmitterOptions.Default with { CommandEndpoint = "tcp://127.0.0.1:*", EventsEndpoint = "tcp://127.0.0.1:*" });
Console.WriteLine($"Transmitter on {transmitter.CommandEndpoint}; starting 3 workers");

var handled = new ConcurrentDictionary<string, int>();
var workers = new List<Process>();
var ready = new CountdownEvent(3);
foreach (var name in new[] { "worker-1", "worker-2", "worker-3" })
{
    var worker = StartSelf("worker", transmitter.CommandEndpoint, name);
    worker.OutputDataReceived += (_, e) =>
    {
        if (e.Data == "ready")
        {
            ready.Signal();
        }
        else if (e.Data?.StartsWith("handled", StringComparison.Ordinal) == true)
        {
            handled.AddOrUpdate(name, 1, (_, n) => n + 1);
        }
    };
    worker.BeginOutputReadLine();
    workers.Add(worker);
}

if (!ready.Wait(TimeSpan.FromSeconds(30)))
{
    throw new TimeoutException("The workers did not start.");
}

await using var producer = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = transmitter.CommandEndpoint, Service = "producer" });
var completion = new PublishOptions { Await = PublishAwait.Completion };
var outcomes = new List<Task<PublishResult>>();
for (var i = 0; i < jobs; i++)
{
    outcomes.Add(producer.PublishAsync("jobs.resize", $"{{\"job\":{i}}}", completion));
    if (i == jobs / 4)
    {
        // Let worker-1 get busy, then kill it mid-stream: no goodbye, its jobs in hand are unacknowledged.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (handled.GetValueOrDefault("worker-1") < 50 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        workers[0].Kill();
        Console.WriteLine($"Killed worker-1 (it had handled {handled.GetValueOrDefault("worker-1")} jobs) after publishing {i + 1} of {jobs}");
    }
}

var results = await Task.WhenAll(outcomes);
var stats = transmitter.Stats;
Console.WriteLine();
Console.WriteLine($"{results.Count(r => r.Status == PublishStatus.Completed)} of {jobs} jobs completed (acknowledged by a worker)");
foreach (var (name, count) in handled.OrderBy(p => p.Key))
{
    Console.WriteLine($"  {name,-9} handled {count,5}");
}

Console.WriteLine($"handled in all: {handled.Values.Sum()} (more than {jobs} only by jobs worker-1 took but never acknowledged)");
Console.WriteLine($"transmitter: {stats.Redeliveries} redeliveries, {stats.AckTimeouts} ack timeouts, {stats.DeadLetters} dead letters");

foreach (var worker in workers)
{
    if (!worker.HasExited)
    {
        worker.StandardInput.Close(); // the workers leave when their input closes
        worker.WaitForExit(5_000);
    }

    worker.Dispose();
}

static async Task RunWorkerAsync(string endpoint, string name)
{
    await using var cell = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = endpoint, Service = "resizer" });
    await using var work = await cell.HandleAsync("jobs.>", async (job, token) =>
    {
        await Task.Delay(1, token); // the work itself
        Console.WriteLine($"handled {job.Sequence}");
    }, new HandlerOptions { Prefetch = 8 });
    Console.WriteLine("ready");
    await Console.In.ReadToEndAsync(); // until the producer closes our input, or kills us
}

static Process StartSelf(params string[] arguments)
{
    // Run as an apphost (dotnet run) or through the dotnet host (dotnet WorkQueue.dll): start this program again.
    var self = Environment.ProcessPath!;
    var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet")
    {
        info.ArgumentList.Add(typeof(Program).Assembly.Location);
    }

    foreach (var argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    return Process.Start(info)!;
}
