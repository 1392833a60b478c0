using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json.Nodes;
using NetMQ;
using NetMQ.Sockets;
using Thynapse.Core;

namespace Thynapse.Bench.Roles;

/// <summary>
/// The raw-NetMQ references: the transport limit under Thynapse, measured in the same run. No Thynapse code is on the
/// path (only its NetMQ buffer pool, installed as the transmitter installs it), no protocol, no parsing beyond
/// splitting batches: what NetMQ itself can move on this machine in the scenario's topology. These are references,
/// not a competitor.
/// </summary>
/// <remarks>
/// Batched frames hold records of a 4-byte little-endian length and the body, packed up to <c>--batch</c> bytes
/// (32 KiB, Thynapse's <see cref="Cell.CellOptions.BatchBytes"/>); <c>--batch 0</c> sends one frame per message.
/// The relay is a ROUTER with <c>ROUTER_MANDATORY</c>: a peer registers by sending <c>pub</c> or <c>sub</c> (answered
/// <c>ok</c>), then every frame from a pub goes to the sub(s) and every frame from a sub to the (first) pub, forwarded
/// as received — the minimal transmitter, with no parsing and no copy. A full peer queue makes the relay wait
/// (back-pressure) instead of dropping, so the relay references are lossless by construction.
/// </remarks>
internal static class NetMqRoles
{
    private const int HighWatermark = 1_000;

    private static int _sink;

    /// <summary>Binds a ROUTER on <c>--port</c> and forwards (see the class remarks); <c>--fan all</c> copies to every sub, <c>rr</c> takes turns.</summary>
    public static async Task RelayAsync(RoleArgs args)
    {
        PooledBufferPool.Install();
        var router = new RouterSocket();
        router.Options.RouterMandatory = true;
        router.Options.SendHighWatermark = HighWatermark;
        router.Options.ReceiveHighWatermark = HighWatermark;
        router.Bind($"tcp://127.0.0.1:{args.Int("port", 0)}");
        var all = args.Get("fan", "all") == "all";
        var relay = new Thread(() =>
        {
            try
            {
                Relay(router, all);
            }
            catch (Exception ex)
            {
                // The run fails at once (the orchestrator sees the error line) instead of stalling.
                RoleIo.Error(ex);
            }
        })
        {
            IsBackground = true,
            Name = "relay",
        };
        relay.Start();
        RoleIo.Send("ready", new JsonObject { ["pid"] = Environment.ProcessId });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// Publishes <c>--count</c> messages of <c>--size</c> bytes, batched into <c>--batch</c>-byte frames (0: one frame
    /// each). <c>--mode direct</c>: an XPUB bound on <c>--endpoint</c> (XPUB is PUB that also hands us the subscription,
    /// so <c>ready</c> follows the subscriber's SUB without a sleep); <c>--mode relay</c>: a DEALER registered with the relay.
    /// </summary>
    public static async Task PublisherAsync(RoleArgs args)
    {
        PooledBufferPool.Install();
        var count = args.Long("count");
        var size = args.Int("size", 100);
        var batch = args.Int("batch", 32 * 1024);
        var body = new byte[size];
        Random.Shared.NextBytes(body);
        NetMQSocket socket;
        if (args.Get("mode", "relay") == "direct")
        {
            var pub = new XPublisherSocket();
            pub.Options.SendHighWatermark = args.Int("hwm", HighWatermark);
            pub.Bind(args["endpoint"]);
            pub.ReceiveFrameBytes(); // the subscriber's subscription: from here on it gets what we send
            socket = pub;
        }
        else
        {
            socket = Register(args["endpoint"], "pub", args.Int("hwm", HighWatermark));
        }

        RoleIo.Send("ready");
        await RoleIo.WaitForAsync("go");
        var started = Stopwatch.GetTimestamp();
        var warmUp = FullSpeedWarmUp.From(args);
        var sent = 0L;
        if (batch <= 0)
        {
            for (; sent < warmUp.Total(sent); sent++)
            {
                socket.SendFrame(body);
            }
        }
        else
        {
            var frame = new byte[Math.Max(batch, 4 + size)];
            var used = 0;
            for (; sent < warmUp.Total(sent); sent++)
            {
                if (used + 4 + size > frame.Length)
                {
                    socket.SendFrame(frame, used);
                    used = 0;
                }

                BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(used), size);
                body.CopyTo(frame.AsSpan(used + 4));
                used += 4 + size;
            }

            if (used > 0)
            {
                socket.SendFrame(frame, used);
            }
        }

        RoleIo.Send("done", new JsonObject { ["sent"] = sent, ["publishSeconds"] = Stopwatch.GetElapsedTime(started).TotalSeconds });
        await RoleHost.ParkAsync();
        GC.KeepAlive(socket);
    }

    /// <summary>
    /// Receives and counts: <c>--mode direct</c> a SUB connected to <c>--endpoint</c> (all topics), <c>--mode relay</c> a
    /// DEALER registered with the relay; <c>--batch</c> &gt; 0 splits each frame into its records. Answers <c>report</c>.
    /// </summary>
    public static async Task SubscriberAsync(RoleArgs args)
    {
        PooledBufferPool.Install();
        var tally = new Tally(args.Long("warm"), args.Double("warm-seconds", 0));
        var batched = args.Int("batch", 32 * 1024) > 0;
        NetMQSocket socket;
        if (args.Get("mode", "relay") == "direct")
        {
            var sub = new SubscriberSocket();
            sub.Options.ReceiveHighWatermark = args.Int("hwm", HighWatermark);
            sub.Connect(args["endpoint"]);
            sub.SubscribeToAnyTopic();
            socket = sub;
        }
        else
        {
            socket = Register(args["endpoint"], "sub", args.Int("hwm", HighWatermark));
        }

        var receiver = new Thread(() =>
        {
            var msg = default(Msg);
            msg.InitEmpty();
            while (true)
            {
                socket.Receive(ref msg);
                tally.Add(batched ? Split(msg.Slice()) : 1);
                Release(ref msg);
            }
        })
        {
            IsBackground = true,
            Name = "receiver",
        };
        receiver.Start();
        RoleIo.On("report", () => RoleIo.Send("report", tally.Report()));
        RoleIo.Send("ready");
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// A DEALER registered with the relay as a sub that sends every frame straight back, or with <c>--reply-bytes n</c>
    /// answers a frame of batched requests with one frame of n-byte replies (each the first n bytes of its request, the
    /// id), as the NATS echoes answer acknowledged work with 8 bytes.
    /// </summary>
    public static async Task EchoAsync(RoleArgs args)
    {
        PooledBufferPool.Install();
        var socket = Register(args["endpoint"], "sub", HighWatermark);
        var replyBytes = args.Int("reply-bytes", 0);
        var echoed = 0L;
        var echo = new Thread(() =>
        {
            var msg = default(Msg);
            msg.InitEmpty();
            var replies = new byte[32 * 1024];
            while (true)
            {
                socket.Receive(ref msg);
                if (replyBytes > 0)
                {
                    var used = ShortReplies(msg.Slice(), replyBytes, ref replies);
                    socket.SendFrame(replies, used);
                }
                else
                {
                    socket.Send(ref msg, more: false);
                }

                Interlocked.Increment(ref echoed);
                Release(ref msg);
            }
        })
        {
            IsBackground = true,
            Name = "echo",
        };
        echo.Start();
        RoleIo.On("report", () => RoleIo.Send("report", new JsonObject { ["count"] = Interlocked.Read(ref echoed) }));
        RoleIo.Send("ready");
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// A DEALER registered with the relay as a pub: <c>--count</c> requests of <c>--size</c> bytes (8-byte id first),
    /// <c>--window</c> in flight, timed around the relay and the echo; same result format as the Thynapse and NATS
    /// requesters. Sequential (window 1): one frame per request, blocking receive. Pipelined: requests are batched as
    /// the publisher batches (records of 4-byte length and body in frames up to <c>--batch</c> bytes), the echo sends
    /// each frame back whole, and every reply frame is answered by one frame of as many new requests as it completed.
    /// </summary>
    public static async Task RequesterAsync(RoleArgs args)
    {
        PooledBufferPool.Install();
        var count = args.Long("count");
        var window = args.Long("window", 1);
        var size = Math.Max(8, args.Int("size", 100));
        var batch = Math.Max(4 + size, args.Int("batch", 32 * 1024));
        var warm = Math.Max(1, args.Long("warm", count / 10)); // the first requests are left out
        var socket = Register(args["endpoint"], "pub", HighWatermark);
        var latencies = new Latencies(count);
        var tally = new Tally(warm);
        RoleIo.Send("ready");
        await RoleIo.WaitForAsync("go");

        var body = new byte[size];
        var frame = new byte[batch];
        var sent = 0L;
        var replies = 0L;

        // Sends up to n more requests: one frame when sequential, packed frames when pipelined.
        void SendMore(long n)
        {
            var used = 0;
            for (var i = 0L; i < n && sent < count; i++, sent++)
            {
                if (window == 1)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(body, sent);
                    latencies.Sent(sent, Stopwatch.GetTimestamp());
                    socket.SendFrame(body);
                    continue;
                }

                if (used + 4 + size > frame.Length)
                {
                    socket.SendFrame(frame, used);
                    used = 0;
                }

                BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(used), size);
                BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(used + 4), sent);
                latencies.Sent(sent, Stopwatch.GetTimestamp());
                used += 4 + size;
            }

            if (used > 0)
            {
                socket.SendFrame(frame, used);
            }
        }

        var lost = await Task.Run(() =>
        {
            var msg = default(Msg);
            msg.InitEmpty();
            SendMore(window);
            while (replies < count)
            {
                if (!socket.TryReceive(ref msg, TimeSpan.FromSeconds(5)))
                {
                    return count - replies;
                }

                var now = Stopwatch.GetTimestamp();
                var completed = 0;
                if (window == 1)
                {
                    latencies.Replied(BinaryPrimitives.ReadInt64LittleEndian(msg.Slice()), now);
                    completed = 1;
                }
                else
                {
                    ReadOnlySpan<byte> records = msg.Slice();
                    while (records.Length >= 4)
                    {
                        var length = BinaryPrimitives.ReadInt32LittleEndian(records);
                        latencies.Replied(BinaryPrimitives.ReadInt64LittleEndian(records[4..]), now);
                        records = records[(4 + length)..];
                        completed++;
                    }
                }

                Release(ref msg);
                tally.Add(completed);
                replies += completed;
                SendMore(completed);
            }

            return 0L;
        });

        var result = window == 1 ? latencies.Summary(warm, count) : tally.Report();
        result["lost"] = lost;
        result["count"] = replies;
        RoleIo.Send("result", result);
        await RoleHost.ParkAsync();
        GC.KeepAlive(socket);
    }

    private static void Relay(RouterSocket router, bool all)
    {
        var pubs = new List<byte[]>();
        var subs = new List<byte[]>();
        var next = 0;
        var id = default(Msg);
        var data = default(Msg);
        id.InitEmpty();
        data.InitEmpty();
        while (true)
        {
            router.Receive(ref id);
            router.Receive(ref data);
            var from = id.Slice();
            if (IndexOf(subs, from) >= 0)
            {
                Forward(router, pubs[0], ref data);
            }
            else if (IndexOf(pubs, from) >= 0)
            {
                if (all)
                {
                    for (var i = 0; i < subs.Count - 1; i++)
                    {
                        var copy = default(Msg);
                        copy.InitPool(data.Size);
                        data.Slice().CopyTo(copy.Slice());
                        Forward(router, subs[i], ref copy);
                    }

                    Forward(router, subs[^1], ref data);
                }
                else
                {
                    next = next + 1 >= subs.Count ? 0 : next + 1;
                    Forward(router, subs[next], ref data);
                }
            }
            else
            {
                // Registration: "pub" or "sub".
                var identity = from.ToArray();
                (data.Slice().SequenceEqual("sub"u8) ? subs : pubs).Add(identity);
                router.SendMoreFrame(identity).SendFrame("ok");
            }

            Release(ref id);
            Release(ref data);
        }
    }

    /// <summary>A DEALER connected to the relay, registered as <paramref name="role"/> (the relay's <c>ok</c> has come back).</summary>
    private static DealerSocket Register(string endpoint, string role, int hwm)
    {
        var dealer = new DealerSocket();
        dealer.Options.SendHighWatermark = hwm;
        dealer.Options.ReceiveHighWatermark = hwm;
        dealer.Connect(endpoint);
        dealer.SendFrame(role);
        if (!dealer.TryReceiveFrameString(TimeSpan.FromSeconds(30), out var answer) || answer != "ok")
        {
            throw new InvalidOperationException($"the relay at {endpoint} did not register us ({answer ?? "no answer"})");
        }

        return dealer;
    }

    /// <summary>Writes one record of <paramref name="replyBytes"/> (the start of each request) per request record; returns the bytes used.</summary>
    private static int ShortReplies(ReadOnlySpan<byte> records, int replyBytes, ref byte[] replies)
    {
        var used = 0;
        while (records.Length >= 4)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(records);
            if (used + 4 + replyBytes > replies.Length)
            {
                Array.Resize(ref replies, replies.Length * 2);
            }

            BinaryPrimitives.WriteInt32LittleEndian(replies.AsSpan(used), replyBytes);
            records.Slice(4, Math.Min(length, replyBytes)).CopyTo(replies.AsSpan(used + 4));
            used += 4 + replyBytes;
            records = records[(4 + length)..];
        }

        return used;
    }

    /// <summary>Walks the records of a batched frame (4-byte length, body) and returns how many there were.</summary>
    private static int Split(ReadOnlySpan<byte> frame)
    {
        var records = 0;
        var checksum = 0;
        while (frame.Length >= 4)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(frame);
            var record = frame.Slice(4, length);
            checksum += record[0]; // touch each record, as a receiver would
            frame = frame[(4 + length)..];
            records++;
        }

        Volatile.Write(ref _sink, checksum);
        return records;
    }

    private static void Forward(RouterSocket router, byte[] to, ref Msg data)
    {
        router.SendMoreFrame(to);
        router.Send(ref data, more: false);
    }

    private static int IndexOf(List<byte[]> peers, ReadOnlySpan<byte> id)
    {
        for (var i = 0; i < peers.Count; i++)
        {
            if (id.SequenceEqual(peers[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static void Release(ref Msg msg)
    {
        msg.Close();
        msg.InitEmpty();
    }
}
