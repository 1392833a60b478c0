// A cell in its own process: joins, catches one pattern, and prints "caught <seq> <channel>" per event so that
// the test that runs it knows what it got. Usage: <transmitter> <service> <pattern> <multi|any>
using Thynapse.Cell;
using Thynapse.Core;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: Thynapse.TestCell <transmitter> <service> <pattern> <multi|any>");
    return 1;
}

var mode = args[3] == "any" ? Catch.Any : Catch.Multi;
await using var cell = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = args[0], Service = args[1] });
await using var subscription = await cell.SubscribeAsync(args[2], mode);
using var printing = subscription.Subscribe(e => Console.WriteLine($"caught {e.Sequence} {e.Channel}"));
Console.WriteLine($"ready {cell.Id}");

// Run until stdin closes (the test ends) or the process is killed.
await Console.In.ReadToEndAsync();
return 0;
