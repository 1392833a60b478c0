// Quickstart: two services with two cells each. Multicatch gives every cell its own copy; anycatch gives each
// service exactly one copy, shared out between its cells.
//
//   dotnet run --project examples/Quickstart                          (starts a transmitter in this process)
//   dotnet run --project examples/Quickstart -- tcp://127.0.0.1:4710  (uses a running transmitter)
using System.Collections.Concurrent;
using Thynapse.Cell;
using Thynapse.Core;
using Thynapse.Transmitter;

await using var local = args.Length == 0
    ? Transmitter.Start(TransmitterOptions.Default with { CommandEndpoint = "tcp://127.0.0.1:*", EventsEndpoint = "tcp://127.0.0.1:*" })
    : null;
var endpoint = args.Length > 0 ? args[0] : local!.CommandEndpoint;
Console.WriteLine($"Transmitter: {endpoint}{(local is null ? "" : " (in this process)")}");

const int orders = 10, jobs = 1000;
var multicatch = new ConcurrentDictionary<string, int>();
var anycatch = new ConcurrentDictionary<string, int>();
var cells = new List<Cell>();
var subscriptions = new List<IAsyncDisposable>();
foreach (var service in new[] { "billing", "audit" })
{
    for (var n = 1; n <= 2; n++)
    {
        var cell = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = endpoint, Service = service });
        var name = $"{service}-{n}";
        cells.Add(cell);

        var everyOrder = await cell.SubscribeAsync("orders.*", Catch.Multi);   // every cell gets every order
        everyOrder.Subscribe(_ => multicatch.AddOrUpdate(name, 1, (_, c) => c + 1));
        var oneJob = await cell.SubscribeAsync("jobs.>", Catch.Any);           // one cell per service gets each job
        oneJob.Subscribe(_ => anycatch.AddOrUpdate(name, 1, (_, c) => c + 1));
        subscriptions.Add(everyOrder);
        subscriptions.Add(oneJob);
    }
}

await using var publisher = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = endpoint, Service = "shop" });
for (var i = 0; i < orders; i++)
{
    publisher.Publish("orders.created", $"{{\"order\":{i}}}");
}

for (var i = 0; i < jobs; i++)
{
    publisher.Publish("jobs.render.thumbnail", $"job {i}");
}

var last = await publisher.PublishAsync("jobs.render.thumbnail", "the last job");
Console.WriteLine($"Published {orders} orders and {jobs + 1} jobs; the last job went to {last.Receivers} cells (one per service).");

// Wait (bounded) until every cell has its orders and every job is counted once per service.
var deadline = DateTime.UtcNow.AddSeconds(10);
while (DateTime.UtcNow < deadline && (multicatch.Values.Sum() < 4 * orders || anycatch.Values.Sum() < 2 * (jobs + 1)))
{
    await Task.Delay(20);
}

Console.WriteLine();
Console.WriteLine($"multicatch 'orders.*' ({orders} events): every cell gets every event");
foreach (var (cell, count) in multicatch.OrderBy(p => p.Key))
{
    Console.WriteLine($"  {cell,-10} {count,5}");
}

Console.WriteLine($"anycatch 'jobs.>' ({jobs + 1} events): each service gets each event once, split between its cells");
foreach (var (cell, count) in anycatch.OrderBy(p => p.Key))
{
    Console.WriteLine($"  {cell,-10} {count,5}");
}

foreach (var subscription in subscriptions)
{
    await subscription.DisposeAsync();
}

foreach (var cell in cells)
{
    await cell.DisposeAsync();
}
