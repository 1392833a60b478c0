// A cell in its own process, for fault tests that kill or freeze it. It joins, catches one pattern and prints
// one line per event so that the test knows what it got:
//   <transmitter> <service> <pattern> multi|any   prints "caught <seq> <channel>"
//   <transmitter> <service> <pattern> work [prefetch]
//       handles with acknowledgements (HandleAsync) and prints "handled <origin> <seq>" before each ack
// Every notice is printed as "notice <kind> <count> <message>".
//   <transmitter> attack <connections> <replace-ms>
//       welcomed connections that send BEATs as fast as the socket takes them and never read, one replaced every
//       <replace-ms>; prints "attacking" when it starts, and runs until stdin closes
using Thynapse.Cell;
using Thynapse.Core;

if (args.Length >= 2 && args[1] == "attack")
{
    return await Attacker.RunAsync(args[0], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
}

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

/// <summary>Connections that say HELO, then BEAT as fast as they can and never read (issue 15, finding 11).</summary>
internal static class Attacker
{
    public static async Task<int> RunAsync(string endpoint, int connections, int replaceMs)
    {
        using var stop = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            await Console.In.ReadToEndAsync();
            await stop.CancelAsync();
        });

        var attackers = new Queue<NetMQ.Sockets.DealerSocket>();
        var total = 0;
        var beat = "J BEAT"u8.ToArray();
        var replace = System.Diagnostics.Stopwatch.StartNew();
        Console.WriteLine("attacking");
        while (!stop.IsCancellationRequested)
        {
            while (attackers.Count < connections)
            {
                var dealer = new NetMQ.Sockets.DealerSocket();
                dealer.Options.Linger = TimeSpan.Zero;
                dealer.Options.ReceiveHighWatermark = 2;
                dealer.Options.ReceiveBuffer = 16 * 1024;
                dealer.Connect(endpoint);
                NetMQ.OutgoingSocketExtensions.SendFrame(dealer, System.Text.Encoding.UTF8.GetBytes($"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"attacker\"}}"));
                attackers.Enqueue(dealer);
                total++;
            }

            var sent = 0;
            foreach (var dealer in attackers)
            {
                for (var i = 0; i < 100 && NetMQ.OutgoingSocketExtensions.TrySendFrame(dealer, beat); i++)
                {
                    sent++;
                }
            }

            if (replace.ElapsedMilliseconds >= replaceMs)
            {
                attackers.Dequeue().Dispose();
                replace.Restart();
            }

            if (sent == 0)
            {
                await Task.Delay(1);
            }
        }

        foreach (var dealer in attackers)
        {
            dealer.Dispose();
        }

        Console.WriteLine($"attacked with {total}");
        NetMQ.NetMQConfig.Cleanup(block: false);
        return 0;
    }
}
