using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Thynapse.Bench.Nats;

namespace Thynapse.Bench.Roles;

/// <summary>The NATS side of each role, on <see cref="NatsConnection"/>: same arguments as the Thynapse roles.</summary>
internal static class NatsRoles
{
    private static readonly TimeSpan ConnectRetry = TimeSpan.FromSeconds(15);

    /// <summary>
    /// One connection with one SUB (<c>--pattern</c>) or many (<c>--subs N --prefix P</c>); <c>--mode any</c> joins
    /// queue group <c>--service</c>. PING/PONG after the SUBs, then <c>ready</c>; counts every MSG on this thread, and
    /// with <c>--check N</c> checks the stamped numbers (<see cref="SequenceCheck"/>).
    /// </summary>
    public static async Task ReceiverAsync(RoleArgs args)
    {
        var tally = new Tally(args.Long("warm"), args.Double("warm-seconds", 0));
        var queue = args.Get("mode", "multi") == "any" ? args.Get("service", "bench") : null;
        using var connection = NatsConnection.Connect(args["endpoint"], "recv", ConnectRetry);
        if (args.Has("subs"))
        {
            var n = args.Long("subs");
            for (var i = 0L; i < n; i++)
            {
                connection.Subscribe(args["prefix"] + i.ToString(System.Globalization.CultureInfo.InvariantCulture), queue, i + 1);
            }
        }
        else
        {
            connection.Subscribe(args["pattern"], queue, 1);
        }

        connection.PingAndWait(null); // the server has processed every SUB
        var check = SequenceCheck.From(args);
        var checking = check is null ? null : new CheckHandler(check);
        string? failure = null;
        RoleIo.On("report", () =>
        {
            var report = tally.Report();
            check?.Fill(report);
            if (failure is not null)
            {
                report["failure"] = failure;
            }

            RoleIo.Send("report", report);
        });
        RoleIo.Send("ready");
        await Task.Run(() =>
        {
            try
            {
                while (true)
                {
                    tally.Add(connection.ReadOnce(checking));
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or NatsErrorException)
            {
                failure = ex.Message; // e.g. a slow-consumer disconnect: the missing messages show as lost
                Console.Error.WriteLine($"receiver stopped: {ex.Message}");
            }
        });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// <c>--conns</c> connections publishing <c>--count</c> messages in all, round-robin in chunks; then PING/PONG on
    /// each, so <c>done</c> means the server has read every PUB.
    /// </summary>
    public static async Task PublisherAsync(RoleArgs args)
    {
        var (conns, count, body, stamp, first, chunk) = PublishPlan.From(args);
        var subjects = Subjects(args);
        var connections = Enumerable.Range(0, conns).Select(_ => NatsConnection.Connect(args["endpoint"], "pub", ConnectRetry)).ToArray();
        RoleIo.Send("ready", new JsonObject { ["conns"] = connections.Length });
        await RoleIo.WaitForAsync("go");

        var started = Stopwatch.GetTimestamp();
        var c = 0;
        var sent = 0L;
        var pace = WarmUpPace.From(args);
        var warmUp = FullSpeedWarmUp.From(args);
        while (sent < warmUp.Total(sent))
        {
            var connection = connections[c];
            var n = Math.Min(Math.Min(chunk, FullSpeedWarmUp.Step), warmUp.Total(sent) - sent);
            for (var i = 0L; i < n; i++)
            {
                pace.Wait(sent + i, connection.Flush);
                if (stamp)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(body, first + sent + i);
                }

                connection.Publish(subjects[(sent + i) % subjects.Length], default, body);
            }

            sent += n;
            c = c + 1 == connections.Length ? 0 : c + 1;
        }

        foreach (var connection in connections)
        {
            connection.Flush();
        }

        var published = Stopwatch.GetElapsedTime(started);
        foreach (var connection in connections)
        {
            connection.PingAndWait(null);
        }

        RoleIo.Send("done", new JsonObject
        {
            ["sent"] = sent,
            ["publishSeconds"] = published.TotalSeconds,
            ["acceptedSeconds"] = Stopwatch.GetElapsedTime(started).TotalSeconds,
        });
        await RoleHost.ParkAsync();
    }

    /// <summary>Queue-subscribes <c>--channel</c> (group <c>--service</c>) and answers each request on its reply subject.</summary>
    public static async Task EchoAsync(RoleArgs args)
    {
        using var connection = NatsConnection.Connect(args["endpoint"], "echo", ConnectRetry);
        connection.Subscribe(args["channel"], args.Get("service", "echo"), 1);
        connection.PingAndWait(null);
        var handler = new EchoHandler(connection, args.Int("reply-bytes", -1));
        RoleIo.On("report", () => RoleIo.Send("report", new JsonObject { ["count"] = connection.MessagesRead }));
        RoleIo.Send("ready");
        await Task.Run(() =>
        {
            try
            {
                while (true)
                {
                    connection.ReadOnce(handler);
                    connection.Flush(); // replies to everything this read brought, in one send
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or NatsErrorException)
            {
                Console.Error.WriteLine($"echo stopped: {ex.Message}");
            }
        });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// Requests on <c>--channel</c> with reply subject <c>_INBOX.&lt;random&gt;</c>, <c>--window</c> in flight
    /// (1 = sequential: PUB, flush, read until the reply). Same result format as the Thynapse requester.
    /// </summary>
    public static async Task RequesterAsync(RoleArgs args)
    {
        var count = args.Long("count");
        var window = args.Long("window", 1);
        var size = Math.Max(8, args.Int("size", 100));
        var subject = Encoding.ASCII.GetBytes(args["channel"]);
        var warm = Math.Max(1, args.Long("warm", count / 10)); // the first requests are left out
        var inbox = "_INBOX." + Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var inboxBytes = Encoding.ASCII.GetBytes(inbox);
        using var connection = NatsConnection.Connect(args["endpoint"], "requester", ConnectRetry);
        connection.Subscribe(inbox, null, 1);
        connection.PingAndWait(null);
        var latencies = new Latencies(count);
        var tally = new Tally(warm);
        var body = new byte[size];
        var claimed = 0L;
        var handler = new ReplyHandler(latencies, tally);
        RoleIo.Send("ready");
        await RoleIo.WaitForAsync("go");

        void SendNext()
        {
            var id = claimed++;
            if (id >= count)
            {
                return;
            }

            BinaryPrimitives.WriteInt64LittleEndian(body, id);
            latencies.Sent(id, Stopwatch.GetTimestamp());
            connection.Publish(subject, inboxBytes, body);
        }

        var lost = await Task.Run(() =>
        {
            var socketTimeout = TimeSpan.FromSeconds(5);
            try
            {
                if (window == 1)
                {
                    for (var i = 0L; i < count; i++)
                    {
                        SendNext();
                        connection.Flush();
                        while (handler.Replies <= i)
                        {
                            ReadWithTimeout(connection, handler, socketTimeout);
                        }
                    }
                }
                else
                {
                    for (var i = 0L; i < window; i++)
                    {
                        SendNext();
                    }

                    connection.Flush();
                    while (handler.Replies < count)
                    {
                        var before = handler.Replies;
                        ReadWithTimeout(connection, handler, socketTimeout);
                        for (var i = before; i < handler.Replies; i++)
                        {
                            SendNext();
                        }

                        connection.Flush();
                    }
                }

                return 0L;
            }
            catch (TimeoutException)
            {
                return count - handler.Replies;
            }
        });

        var result = window == 1 ? latencies.Summary(warm, count) : tally.Report();
        result["lost"] = lost;
        result["count"] = handler.Replies;
        RoleIo.Send("result", result);
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// Scenario 11's stand-in: <c>--count</c> connections numbered from <c>--offset</c>. NATS cannot route by metadata,
    /// so the eligibility that <see cref="Scenarios.MetaSpec"/> gives each number is decided here, outside NATS: the
    /// matching connections join queue group <c>--service</c> on <see cref="Scenarios.MetaSpec.EligibleSubject"/>, the
    /// others on <see cref="Scenarios.MetaSpec.OtherSubject"/> (never published on). One reader thread per matching
    /// connection counts (one tally for the process, event numbers in a bitmap).
    /// </summary>
    public static async Task MetaConnectionsAsync(RoleArgs args)
    {
        var count = args.Int("count", 1);
        var offset = args.Int("offset", 0);
        var queue = args.Get("service", "pool");
        var tally = new Tally(args.Long("warm"));
        var seen = new SeenSet(args.Long("expect"));
        var handler = new SeenHandler(seen, tally);
        var connections = new List<(NatsConnection Connection, bool Matches)>(count);
        for (var i = 0; i < count; i++)
        {
            var matches = Scenarios.MetaSpec.Matches(offset + i);
            var connection = NatsConnection.Connect(args["endpoint"], "meta", ConnectRetry);
            connection.Subscribe(matches ? Scenarios.MetaSpec.EligibleSubject : Scenarios.MetaSpec.OtherSubject, queue, 1);
            connection.PingAndWait(null);
            connections.Add((connection, matches));
        }

        foreach (var (connection, _) in connections.Where(c => c.Matches))
        {
            var reader = new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        connection.ReadOnce(handler);
                    }
                }
                catch (Exception ex) when (ex is IOException or SocketException or NatsErrorException or ObjectDisposedException)
                {
                    Console.Error.WriteLine($"meta reader stopped: {ex.Message}");
                }
            })
            {
                IsBackground = true,
                Name = "meta-reader",
            };
            reader.Start();
        }

        RoleIo.On("report", () =>
        {
            var report = tally.Report();
            report["duplicates"] = handler.Duplicates;
            report["matching"] = connections.Count(c => c.Matches);
            RoleIo.Send("report", report);
        });
        RoleIo.On("seen", () => RoleIo.Send("seen", new JsonObject { ["bits"] = seen.ToBase64(), ["outOfRange"] = seen.OutOfRange }));
        RoleIo.Send("ready", new JsonObject { ["conns"] = connections.Count });
        await RoleHost.ParkAsync();
        GC.KeepAlive(connections);
    }

    /// <summary><c>--count</c> idle connections (CONNECT + PING/PONG each); <c>ready</c> once all are in.</summary>
    public static async Task IdleAsync(RoleArgs args)
    {
        var count = args.Int("count", 1);
        var connections = new List<NatsConnection>(count);
        for (var i = 0; i < count; i++)
        {
            connections.Add(NatsConnection.Connect(args["endpoint"], "idle", ConnectRetry));
        }

        RoleIo.Send("ready", new JsonObject { ["conns"] = connections.Count });
        await RoleHost.ParkAsync();
        GC.KeepAlive(connections);
    }

    private static void ReadWithTimeout(NatsConnection connection, INatsHandler handler, TimeSpan timeout)
    {
        // The requester reads only what it asked for: if nothing comes for this long, the rest is lost.
        if (connection.ReadTimeout != timeout)
        {
            connection.ReadTimeout = timeout;
        }

        try
        {
            connection.ReadOnce(handler);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut)
        {
            throw new TimeoutException("no reply", ex);
        }
    }

    private static byte[][] Subjects(RoleArgs args) => args.Has("channels")
        ? Enumerable.Range(0, (int)args.Long("channels")).Select(i => Encoding.ASCII.GetBytes(args["prefix"] + i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray()
        : [Encoding.ASCII.GetBytes(args["channel"])];

    /// <summary>Counts each message (thread-safe: one instance serves every reader thread) and marks its number.</summary>
    private sealed class SeenHandler(SeenSet seen, Tally tally) : INatsHandler
    {
        private long _duplicates;

        public long Duplicates => Interlocked.Read(ref _duplicates);

        public void OnMessage(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, ReadOnlySpan<byte> payload)
        {
            if (!seen.Mark(BinaryPrimitives.ReadInt64LittleEndian(payload)))
            {
                Interlocked.Increment(ref _duplicates);
            }

            tally.Hit();
        }
    }

    /// <summary>Checks each message's stamped number (one reader thread).</summary>
    private sealed class CheckHandler(SequenceCheck check) : INatsHandler
    {
        public void OnMessage(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, ReadOnlySpan<byte> payload) => check.See(payload);
    }

    private sealed class EchoHandler(NatsConnection connection, int replyBytes) : INatsHandler
    {
        public void OnMessage(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, ReadOnlySpan<byte> payload)
        {
            if (!reply.IsEmpty)
            {
                connection.Publish(reply, default, replyBytes < 0 ? payload : payload[..Math.Min(replyBytes, payload.Length)]);
            }
        }
    }

    private sealed class ReplyHandler(Latencies latencies, Tally tally) : INatsHandler
    {
        public long Replies { get; private set; }

        public void OnMessage(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, ReadOnlySpan<byte> payload)
        {
            latencies.Replied(BinaryPrimitives.ReadInt64LittleEndian(payload), Stopwatch.GetTimestamp());
            tally.Add(1);
            Replies++;
        }
    }
}
