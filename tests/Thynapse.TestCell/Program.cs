// A cell in its own process, for fault tests that kill or freeze it. It joins, catches one pattern and prints
// one line per event so that the test knows what it got:
//   <transmitter> <service> <pattern> multi|any   prints "caught <seq> <channel>"
//   <transmitter> <service> <pattern> work [prefetch]
//       handles with acknowledgements (HandleAsync) and prints "handled <origin> <seq>" before each ack
// Every notice is printed as "notice <kind> <count> <message>".
//   <transmitter> attack <connections> <replace-ms>
//       welcomed connections that send BEATs as fast as the socket takes them and never read, one replaced every
//       <replace-ms>; prints "attacking" when it starts, and runs until stdin closes
//   <transmitter> junk [kinds]
//       garbage frames, oversized frames and a storm of HELOs with a wrong secret, each as fast as it goes; prints
//       "junking" when it starts and "junked <garbage> <oversized> <helos>" when stdin closes
using Thynapse.Cell;
using Thynapse.Core;

if (args.Length >= 2 && args[1] == "junk")
{
    return await Junk.RunAsync(args[0], args.Length > 2 ? args[2] : "garbage,oversized,helo");
}

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

/// <summary>Garbage, oversized frames and HELO storms (issue 18, item 8), each on its own thread, until stdin closes.</summary>
internal static class Junk
{
    public static async Task<int> RunAsync(string endpoint, string kinds)
    {
        using var stop = new CancellationTokenSource();
        long garbage = 0, oversized = 0, helos = 0;

        // Reads and drops whatever comes back, so that these clients are fast talkers, not stuck readers.
        static void Drain(NetMQ.Sockets.DealerSocket dealer)
        {
            var msg = new NetMQ.Msg();
            msg.InitEmpty();
            while (dealer.TryReceive(ref msg, TimeSpan.Zero))
            {
            }

            msg.Close();
        }

        static NetMQ.Sockets.DealerSocket Open(string endpoint)
        {
            var dealer = new NetMQ.Sockets.DealerSocket();
            dealer.Options.Linger = TimeSpan.Zero;
            dealer.Options.SendHighWatermark = 64;
            dealer.Connect(endpoint);
            return dealer;
        }

        var threads = new List<Thread>
        {
            new(() =>
            {
                var random = new Random(1);
                using var dealer = Open(endpoint);
                while (!stop.IsCancellationRequested)
                {
                    var frame = new byte[random.Next(1, 4096)];
                    random.NextBytes(frame);
                    if (frame.Length >= 8 && random.Next(4) == 0)
                    {
                        "J SUBS {"u8.CopyTo(frame); // half a J header now and then, to reach the JSON reader
                    }

                    if (NetMQ.OutgoingSocketExtensions.TrySendFrame(dealer, TimeSpan.FromMilliseconds(10), frame))
                    {
                        Interlocked.Increment(ref garbage);
                    }

                    Drain(dealer);
                }
            }),
            new(() =>
            {
                // Over the frame limit (FRAME_TOO_LARGE), and now and then past what the transport takes (disconnected).
                var big = new byte[1536 * 1024];
                var huge = new byte[3 * 1024 * 1024];
                "J EVNT {}"u8.CopyTo(big);
                var dealer = Open(endpoint);
                var sent = 0;
                while (!stop.IsCancellationRequested)
                {
                    if (NetMQ.OutgoingSocketExtensions.TrySendFrame(dealer, TimeSpan.FromMilliseconds(50), ++sent % 8 == 0 ? huge : big))
                    {
                        Interlocked.Increment(ref oversized);
                    }

                    Drain(dealer);
                    if (sent % 8 == 0)
                    {
                        dealer.Dispose();
                        dealer = Open(endpoint);
                    }
                }

                dealer.Dispose();
            }),
            new(() =>
            {
                // A new connection per HELO, with a wrong secret, never waiting for the answer.
                while (!stop.IsCancellationRequested)
                {
                    using var dealer = Open(endpoint);
                    NetMQ.OutgoingSocketExtensions.SendFrame(dealer, System.Text.Encoding.UTF8.GetBytes(
                        $"J HELO {{\"id\":\"{Thid.NewRandom()}\",\"service\":\"storm\",\"secret\":\"wrong-{Random.Shared.Next()}-guess\"}}"));
                    Interlocked.Increment(ref helos);
                    Thread.Sleep(1); // one HELO a millisecond per storm thread: sockets take a few to close
                }
            }),
        };
        string[] names = ["garbage", "oversized", "helo"];
        threads = [.. threads.Where((_, i) => kinds.Split(',').Contains(names[i]))];
        threads.ForEach(t => t.Start());
        Console.WriteLine("junking");
        await Console.In.ReadToEndAsync();
        await stop.CancelAsync();
        threads.ForEach(t => t.Join());
        Console.WriteLine($"junked {garbage} {oversized} {helos}");
        return 0;
    }
}
