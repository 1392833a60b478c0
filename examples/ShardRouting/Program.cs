// Shard routing: gateway cells announce the guilds they hold in their metadata. A sender that knows nothing
// about gateways publishes "to the gateway holding guild N" with a metadata query; when a guild moves from one
// gateway to another, routing follows at once.
//
//   dotnet run --project examples/ShardRouting
using System.Collections.Concurrent;
using Newtonsoft.Json.Linq;
using Thynapse.Cell;
using Thynapse.Core;
using Thynapse.Transmitter;

await using var transmitter = Transmitter.Start(TransmitterOptions.Default with { CommandEndpoint = "tcp://127.0.0.1:*", EventsEndpoint = "tcp://127.0.0.1:*" });
var endpoint = transmitter.CommandEndpoint;
var received = new BlockingCollection<string>();

// Three gateways, ten guilds each.
var gateways = new List<Cell>();
for (var g = 0; g < 3; g++)
{
    var name = $"gateway-{g + 1}";
    var guilds = new JArray(Enumerable.Range(g * 10 + 1, 10));
    var gateway = await Cell.ConnectAsync(CellOptions.Default with
    {
        Transmitter = endpoint,
        Service = "gateway",
        Metadata = new JObject { ["name"] = name, ["guilds"] = guilds },
    });
    var messages = await gateway.SubscribeAsync("guild.message", Catch.Any);
    messages.Subscribe(e => received.Add($"  {name} got \"{e.BodyAsString()}\""));
    gateways.Add(gateway);
}

// An operator watching the gateways: every metadata change shows up here.
await using var ops = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = endpoint, Service = "ops" });
using var watch = ops.Watch(new CellFilter { Service = "gateway" }).Subscribe(change =>
    Console.WriteLine($"  [watch] {change.Cell.Metadata.Value<string>("name")} {change.Kind.ToString().ToLowerInvariant()}: guilds {change.Cell.Metadata["guilds"]!.ToString(Newtonsoft.Json.Formatting.None)}"));

await using var sender = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = endpoint, Service = "bot" });
async Task SendToGuild(int guild, string text)
{
    var result = await sender.PublishAsync("guild.message", $"{text} (guild {guild})",
        new PublishOptions { Target = new JObject { ["guilds"] = new JObject { ["$contains"] = guild } } });
    Console.WriteLine($"Sent to guild {guild}: {result.Status}, {result.Receivers} receiver(s)");
    if (result.Receivers > 0 && received.TryTake(out var line, TimeSpan.FromSeconds(5)))
    {
        Console.WriteLine(line);
    }
}

Console.WriteLine("Routing by the guilds each gateway announced:");
await SendToGuild(5, "hello");
await SendToGuild(15, "hello");
await SendToGuild(25, "hello");
await SendToGuild(99, "nobody holds this one");

Console.WriteLine();
Console.WriteLine("Guild 5 moves from gateway-1 to gateway-3:");
await gateways[2].SetMetadataAsync("guilds", new JArray(Enumerable.Range(21, 10).Append(5)));
await gateways[0].SetMetadataAsync("guilds", new JArray(Enumerable.Range(1, 10).Where(g => g != 5)));
await SendToGuild(5, "after the move");

foreach (var gateway in gateways)
{
    await gateway.DisposeAsync();
}
