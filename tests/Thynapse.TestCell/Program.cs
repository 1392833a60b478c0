// A cell in its own process, for fault tests that kill or freeze it. It joins, catches one pattern and prints
// one line per event so that the test knows what it got:
//   <transmitter> <service> <pattern> multi|any   prints "caught <seq> <channel>"
//   <transmitter> <service> <pattern> work [prefetch]
//       handles with acknowledgements (HandleAsync) and prints "handled <origin> <seq>" before each ack
// Every notice is printed as "notice <kind> <count> <message>".
using Thynapse.Cell;
using Thynapse.Core;

if (args.Length < 4)
{
    Console.Error.WriteLine("usage: Thynapse.TestCell <transmitter> <service> <pattern> <multi|any|work> [prefetch]");
    return 1;
}

await using var cell = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = args[0], Service = args[1] });
using var notices = cell.Notices.Subscribe(n => Console.WriteLine($"notice {n.Kind} {n.Count} {n.Message}"));
CellSubscription subscription;
if (args[3] == "work")
{
    var prefetch = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 16;
    subscription = await cell.HandleAsync(args[2], async (e, _) =>
    {
        await Task.Yield(); // a little work: the handler completes asynchronously, as real ones do
        Console.WriteLine($"handled {e.Origin} {e.Sequence}");
    }, new HandlerOptions { Prefetch = prefetch });
}
else
{
    subscription = await cell.SubscribeAsync(args[2], args[3] == "any" ? Catch.Any : Catch.Multi);
    subscription.Subscribe(e => Console.WriteLine($"caught {e.Sequence} {e.Channel}"));
}

await using (subscription)
{
    Console.WriteLine($"ready {cell.Id}");

    // Run until stdin closes (the test ends) or the process is killed.
    await Console.In.ReadToEndAsync();
}

return 0;
