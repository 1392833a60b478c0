using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Thynapse.Bench.Scenarios;
using Thynapse.Cell;
using Thynapse.Core;

namespace Thynapse.Bench.Roles;

/// <summary>Thynapse cells in their bench roles, using only the SDK's public API.</summary>
internal static class ThynapseRoles
{
    /// <summary>Control channel each publisher ends its stream with (an awaited publish: all before it were accepted).</summary>
    private const string EndChannel = "bench.end";

    /// <summary>
    /// One cell holding one subscription (<c>--pattern</c>) or many (<c>--subs N --prefix P</c>: P0…P(N−1)), counting
    /// what it catches; with <c>--check N</c> it also checks the stamped numbers (<see cref="SequenceCheck"/>). Prints
    /// <c>ready</c> once every SubscribeAsync completed; answers <c>report</c>.
    /// </summary>
    public static async Task ReceiverAsync(RoleArgs args)
    {
        var mode = args.Get("mode", "multi") == "any" ? Catch.Any : Catch.Multi;
        var tally = new Tally(args.Long("warm"), args.Double("warm-seconds", 0));
        var check = SequenceCheck.From(args);
        var cell = await ConnectAsync(args["endpoint"], args.Get("service", "bench"));
        var notices = new NoticeCounter();
        notices.Attach(cell);

        var patterns = args.Has("subs")
            ? Enumerable.Range(0, (int)args.Long("subs")).Select(i => args["prefix"] + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray()
            : [args["pattern"]];
        var subscriptions = new List<CellSubscription>(patterns.Length);

        // Many subscriptions go out in windows of 256, so as not to depend on how many OKAY answers the transmitter
        // can queue for one cell (answers are dropped like events when that queue is full, §8.2). 10,000 at once
        // also worked when tried; the window costs little.
        const int window = 256;
        for (var i = 0; i < patterns.Length; i += window)
        {
            subscriptions.AddRange(await Task.WhenAll(patterns.Skip(i).Take(window).Select(p => cell.SubscribeAsync(p, mode))));
        }

        var observer = check is null ? new ActionObserver<Event>(_ => tally.Hit()) : new ActionObserver<Event>(e =>
        {
            check.See(e.Body.Span);
            tally.Hit();
        });
        foreach (var subscription in subscriptions)
        {
            subscription.Subscribe(observer);
        }

        RoleIo.On("report", () =>
        {
            var report = tally.Report();
            report["sdkDropped"] = subscriptions.Sum(s => s.Dropped);
            check?.Fill(report);
            notices.Fill(report);
            RoleIo.Send("report", report);
        });
        RoleIo.Send("ready", new JsonObject { ["subscriptions"] = subscriptions.Count });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// <c>--conns</c> cells in this process publishing <c>--count</c> events in all with <c>Cell.Publish</c> (fire and
    /// forget) in a tight loop, round-robin over the cells in chunks; each cell then awaits one confirmed publish on
    /// <see cref="EndChannel"/>, so <c>done</c> means the transmitter accepted every event. <c>--stamp 1</c> writes each
    /// event's number (from <c>--first</c>) into the first 8 bytes of its body; <c>--target json</c> publishes every
    /// event with that metadata query (one <see cref="PublishOptions"/> instance for all); <c>--complete-every n</c>
    /// paces one cell's stream for acknowledged anycatch (see below). Answers <c>report</c> with the refusals the cells
    /// were told about (<see cref="CellNoticeKind.PublishRejected"/>).
    /// </summary>
    public static async Task PublisherAsync(RoleArgs args)
    {
        var (conns, count, body, stamp, first, chunk) = PublishPlan.From(args);
        var channels = Channels(args);
        var options = args.Has("target") ? new PublishOptions { Target = Newtonsoft.Json.Linq.JObject.Parse(args["target"]) } : null;
        var cells = await ConnectManyAsync(args["endpoint"], args.Get("service", "pub"), conns);
        var notices = new NoticeCounter();
        foreach (var cell in cells)
        {
            notices.Attach(cell);
        }

        RoleIo.On("report", () =>
        {
            var report = new JsonObject();
            notices.Fill(report);
            RoleIo.Send("report", report);
        });
        RoleIo.Send("ready", new JsonObject { ["cells"] = cells.Length });
        await RoleIo.WaitForAsync("go");

        var started = Stopwatch.GetTimestamp();
        var c = 0;
        var sent = 0L;
        if (args.Long("complete-every", 0) is > 0 and var every)
        {
            // Paced for acknowledged anycatch: fire-and-forget, except that the last event of every chunk is published
            // awaiting completion, and at most --complete-window chunks may be incomplete. The service queue is FIFO,
            // so a completed marker means every event before it left the queue: what waits there stays bounded far
            // below its limit, which a publisher running 100,000 events ahead of the handlers hits (QUEUE_FULL).
            var window = args.Int("complete-window", 2);
            var completion = new PublishOptions { Await = PublishAwait.Completion, Target = options?.Target };
            var pending = new Queue<Task<PublishResult>>();
            var cell = cells[0];
            for (; sent < count; sent++)
            {
                if (stamp)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(body, first + sent);
                }

                if ((sent + 1) % every != 0 && sent + 1 != count)
                {
                    cell.Publish(channels[sent % channels.Length], body, options);
                    continue;
                }

                pending.Enqueue(cell.PublishAsync(channels[sent % channels.Length], body.ToArray(), completion));
                while (pending.Count > window)
                {
                    await pending.Dequeue();
                }
            }

            await Task.WhenAll(pending);
        }

        var pace = WarmUpPace.From(args);
        var warmUp = FullSpeedWarmUp.From(args);
        while (sent < warmUp.Total(sent))
        {
            var cell = cells[c];
            var n = Math.Min(Math.Min(chunk, FullSpeedWarmUp.Step), warmUp.Total(sent) - sent);
            for (var i = 0L; i < n; i++)
            {
                pace.Wait(sent + i);
                if (stamp)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(body, first + sent + i);
                }

                cell.Publish(channels[(sent + i) % channels.Length], body, options);
            }

            sent += n;
            c = c + 1 == cells.Length ? 0 : c + 1;
        }

        var published = Stopwatch.GetElapsedTime(started);
        await Task.WhenAll(cells.Select(cell => cell.PublishAsync(EndChannel, body.AsMemory(0, 1))));
        var accepted = Stopwatch.GetElapsedTime(started);
        RoleIo.Send("done", new JsonObject
        {
            ["sent"] = sent,
            ["publishSeconds"] = published.TotalSeconds,
            ["acceptedSeconds"] = accepted.TotalSeconds,
        });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// One cell catching <c>--pattern</c> with <see cref="Cell.Cell.HandleAsync"/> (acknowledged anycatch, service
    /// <c>--service</c>, <c>--prefetch</c> unacknowledged at most): the handler counts the event and returns, which
    /// acknowledges it. Event numbers (stamped by the publisher) go into a bitmap, so duplicates are counted here and
    /// distinct events across receivers by the orchestrator (<c>seen</c>).
    /// </summary>
    public static async Task AckReceiverAsync(RoleArgs args)
    {
        var tally = new Tally(args.Long("warm"));
        var seen = new SeenSet(args.Long("expect"));
        var duplicates = 0L;
        var cell = await ConnectAsync(args["endpoint"], args.Get("service", "sink"));
        var notices = new NoticeCounter();
        notices.Attach(cell);
        var handling = await cell.HandleAsync(
            args["pattern"],
            (e, _) =>
            {
                if (!seen.Mark(BinaryPrimitives.ReadInt64LittleEndian(e.Body.Span)))
                {
                    Interlocked.Increment(ref duplicates);
                }

                tally.Hit();
                return Task.CompletedTask;
            },
            new HandlerOptions { Prefetch = args.Int("prefetch", 256) });
        RoleIo.On("report", () =>
        {
            var report = tally.Report();
            report["duplicates"] = Interlocked.Read(ref duplicates);
            report["duplicatesSuppressed"] = cell.DuplicatesSuppressed;
            report["sdkDropped"] = handling.Dropped;
            notices.Fill(report);
            RoleIo.Send("report", report);
        });
        RoleIo.On("seen", () => RoleIo.Send("seen", new JsonObject { ["bits"] = seen.ToBase64(), ["outOfRange"] = seen.OutOfRange }));
        RoleIo.Send("ready");
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// <c>--count</c> cells numbered from <c>--offset</c>, each with the metadata <see cref="MetaSpec"/> gives its number
    /// (<see cref="CellOptions.Metadata"/>), all anycatching <c>--channel</c> in service <c>--service</c>. Each cell knows
    /// whether it matches the publisher's query: what a matching cell catches is counted (one tally for the process,
    /// event numbers in a bitmap), what a non-matching one catches is counted as misrouted.
    /// </summary>
    public static async Task MetaCellsAsync(RoleArgs args)
    {
        AllowSockets(args);
        var count = args.Int("count", 1);
        var offset = args.Int("offset", 0);
        var tally = new Tally(args.Long("warm"));
        var seen = new SeenSet(args.Long("expect"));
        var duplicates = 0L;
        var misrouted = 0L;
        var perCell = new long[count];
        var matches = Enumerable.Range(offset, count).Select(MetaSpec.Matches).ToArray();
        var connecting = Stopwatch.StartNew();
        var cells = await ConnectManyAsync(args["endpoint"], args.Get("service", "pool"), count, i => MetaSpec.Metadata(offset + i));
        var connectSeconds = connecting.Elapsed.TotalSeconds;
        var notices = new NoticeCounter();
        foreach (var cell in cells)
        {
            notices.Attach(cell);
        }

        var subscriptions = new List<CellSubscription>(count);
        const int window = 50;
        for (var i = 0; i < count; i += window)
        {
            subscriptions.AddRange(await Task.WhenAll(cells.Skip(i).Take(window).Select(c => c.SubscribeAsync(args["channel"], Catch.Any))));
        }

        for (var i = 0; i < count; i++)
        {
            var index = i;
            subscriptions[i].Subscribe(new ActionObserver<Event>(e =>
            {
                if (!matches[index])
                {
                    Interlocked.Increment(ref misrouted);
                    return;
                }

                if (!seen.Mark(BinaryPrimitives.ReadInt64LittleEndian(e.Body.Span)))
                {
                    Interlocked.Increment(ref duplicates);
                }

                Interlocked.Increment(ref perCell[index]);
                tally.Hit();
            }));
        }

        RoleIo.On("report", () =>
        {
            var report = tally.Report();
            var caught = Enumerable.Range(0, count).Where(i => matches[i]).Select(i => Interlocked.Read(ref perCell[i])).DefaultIfEmpty(0).ToArray();
            report["misrouted"] = Interlocked.Read(ref misrouted);
            report["duplicates"] = Interlocked.Read(ref duplicates);
            report["matching"] = matches.Count(m => m);
            report["minPerCell"] = caught.Min();
            report["maxPerCell"] = caught.Max();
            report["sdkDropped"] = subscriptions.Sum(s => s.Dropped);
            notices.Fill(report);
            RoleIo.Send("report", report);
        });
        RoleIo.On("seen", () => RoleIo.Send("seen", new JsonObject { ["bits"] = seen.ToBase64(), ["outOfRange"] = seen.OutOfRange }));
        RoleIo.Send("ready", new JsonObject { ["cells"] = cells.Length, ["connectSeconds"] = connectSeconds });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// An echo cell: anycatches <c>--channel</c> in service <c>--service</c> and publishes each body back on
    /// <c>rr.reply.&lt;origin THID&gt;</c> (the first <c>--reply-bytes</c> bytes, or all of it).
    /// </summary>
    public static async Task EchoAsync(RoleArgs args)
    {
        var cell = await ConnectAsync(args["endpoint"], args.Get("service", "echo"));
        var replyBytes = args.Int("reply-bytes", -1);
        var replyChannels = new Dictionary<Thid, string>();
        var subscription = await cell.SubscribeAsync(args["channel"], Catch.Any);
        var echoed = 0L;
        subscription.Subscribe(new ActionObserver<Event>(e =>
        {
            // Observers are called serially: the dictionary needs no lock.
            if (!replyChannels.TryGetValue(e.Origin, out var channel))
            {
                replyChannels[e.Origin] = channel = ReplyChannel(e.Origin);
            }

            var body = e.Body.Span;
            cell.Publish(channel, replyBytes < 0 ? body : body[..Math.Min(replyBytes, body.Length)]);
            echoed++;
        }));
        RoleIo.On("report", () => RoleIo.Send("report", new JsonObject { ["count"] = Interlocked.Read(ref echoed), ["sdkDropped"] = subscription.Dropped }));
        RoleIo.Send("ready");
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// A requester: publishes <c>--count</c> requests (8-byte id first in a <c>--size</c> body) on <c>--channel</c> and
    /// multicatches replies on its own <c>rr.reply.&lt;THID&gt;</c>, keeping <c>--window</c> requests in flight
    /// (1 = sequential). Times are taken in the observer, when the reply reaches application code.
    /// </summary>
    public static async Task RequesterAsync(RoleArgs args)
    {
        var count = args.Long("count");
        var window = args.Long("window", 1);
        var size = Math.Max(8, args.Int("size", 100));
        var channel = args["channel"];
        var warm = Math.Max(1, args.Long("warm", count / 10)); // the first requests are left out
        var cell = await ConnectAsync(args["endpoint"], args.Get("service", "requester"));
        var latencies = new Latencies(count);
        var tally = new Tally(warm);
        var claimed = 0L;
        var completed = 0L;
        var finished = new ManualResetEventSlim();
        var replied = new ManualResetEventSlim();
        var subscription = await cell.SubscribeAsync(ReplyChannel(cell.Id), Catch.Multi);

        void SendNext()
        {
            var id = Interlocked.Increment(ref claimed) - 1;
            if (id >= count)
            {
                return;
            }

            Span<byte> body = stackalloc byte[size];
            body.Clear();
            BinaryPrimitives.WriteInt64LittleEndian(body, id);
            latencies.Sent(id, Stopwatch.GetTimestamp());
            cell.Publish(channel, body);
        }

        subscription.Subscribe(new ActionObserver<Event>(e =>
        {
            var now = Stopwatch.GetTimestamp();
            var id = BinaryPrimitives.ReadInt64LittleEndian(e.Body.Span);
            latencies.Replied(id, now);
            tally.Hit();
            if (window == 1)
            {
                replied.Set();
                return;
            }

            SendNext();
            if (Interlocked.Increment(ref completed) == count)
            {
                finished.Set();
            }
        }));
        RoleIo.Send("ready");
        await RoleIo.WaitForAsync("go");

        long lost = 0;
        if (window == 1)
        {
            for (var i = 0L; i < count; i++)
            {
                replied.Reset();
                SendNext();
                if (!replied.Wait(TimeSpan.FromSeconds(5)))
                {
                    lost = count - i;
                    break;
                }
            }
        }
        else
        {
            for (var i = 0L; i < window; i++)
            {
                SendNext();
            }

            lost = WaitWithStallDetection(finished, () => tally.Count, count);
        }

        var result = window == 1 ? latencies.Summary(warm, count) : tally.Report();
        result["lost"] = lost;
        result["count"] = tally.Count;
        RoleIo.Send("result", result);
        await RoleHost.ParkAsync();
    }

    /// <summary><c>--count</c> idle cells, connected concurrently; <c>ready</c> once all are welcomed.</summary>
    public static async Task IdleAsync(RoleArgs args)
    {
        AllowSockets(args);
        var cells = await ConnectManyAsync(args["endpoint"], args.Get("service", "idle"), args.Int("count", 1));
        RoleIo.Send("ready", new JsonObject { ["cells"] = cells.Length, ["threads"] = Process.GetCurrentProcess().Threads.Count });
        await RoleHost.ParkAsync();
    }

    /// <summary>Waits for <paramref name="finished"/>; gives up when the count stops moving for 5 s and returns what is missing.</summary>
    internal static long WaitWithStallDetection(ManualResetEventSlim finished, Func<long> progress, long expected)
    {
        var last = -1L;
        var lastMove = Stopwatch.GetTimestamp();
        while (!finished.Wait(TimeSpan.FromMilliseconds(250)))
        {
            var now = progress();
            if (now != last)
            {
                last = now;
                lastMove = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastMove) > TimeSpan.FromSeconds(5))
            {
                return expected - now;
            }
        }

        return 0;
    }

    /// <summary>
    /// <c>--max-sockets n</c>: raises NetMQ's per-process socket limit (default 1,024, ~145 cells at ~7 sockets each)
    /// before the first socket exists, so that one process can hold more cells — an application setting, not the SDK's.
    /// </summary>
    private static void AllowSockets(RoleArgs args)
    {
        if (args.Has("max-sockets"))
        {
            NetMQ.NetMQConfig.MaxSockets = args.Int("max-sockets", 1024);
        }
    }

    private static string ReplyChannel(Thid cell) => "rr.reply." + cell;

    private static string[] Channels(RoleArgs args) => args.Has("channels")
        ? Enumerable.Range(0, (int)args.Long("channels")).Select(i => args["prefix"] + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray()
        : [args["channel"]];

    private static Task<Cell.Cell> ConnectAsync(string endpoint, string service, Newtonsoft.Json.Linq.JObject? metadata = null) =>
        Cell.Cell.ConnectAsync(CellOptions.Default with
        {
            Transmitter = endpoint,
            Service = service,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            Metadata = metadata,
            TransmitterPublicKey = Environment.GetEnvironmentVariable(ServerRoles.CurvePublicVariable),
        });

    private static async Task<Cell.Cell[]> ConnectManyAsync(string endpoint, string service, int count, Func<int, Newtonsoft.Json.Linq.JObject>? metadata = null)
    {
        var cells = new List<Cell.Cell>(count);
        const int window = 50;
        for (var i = 0; i < count; i += window)
        {
            cells.AddRange(await Task.WhenAll(Enumerable.Range(i, Math.Min(window, count - i)).Select(j => ConnectAsync(endpoint, service, metadata?.Invoke(j)))));
        }

        return [.. cells];
    }
}

/// <summary>What cells were told on <see cref="Cell.Cell.Notices"/>: drops, refusals, errors (counted; the rare ones also logged to stderr).</summary>
internal sealed class NoticeCounter
{
    private long _missed;
    private long _slowNotices;
    private long _rejected;
    private long _errors;

    public void Attach(Cell.Cell cell) => cell.Notices.Subscribe(new ActionObserver<CellNotice>(n =>
    {
        switch (n.Kind)
        {
            case CellNoticeKind.MissedEvents or CellNoticeKind.SlowConsumer:
                Interlocked.Add(ref _missed, n.Count);
                Interlocked.Increment(ref _slowNotices);
                break;
            case CellNoticeKind.PublishRejected:
                if (Interlocked.Increment(ref _rejected) <= 3)
                {
                    Console.Error.WriteLine($"notice: {n.Kind} {n.Code} {n.Message}");
                }

                break;
            case CellNoticeKind.TransmitterError or CellNoticeKind.ConnectionLost or CellNoticeKind.HandlerFailed or CellNoticeKind.ObserverFailed:
                if (Interlocked.Increment(ref _errors) <= 3)
                {
                    Console.Error.WriteLine($"notice: {n.Kind} {n.Message}");
                }

                break;
            default:
                break;
        }
    }));

    public void Fill(JsonObject report)
    {
        report["missed"] = Interlocked.Read(ref _missed);
        report["slowNotices"] = Interlocked.Read(ref _slowNotices);
        report["rejected"] = Interlocked.Read(ref _rejected);
        report["noticeErrors"] = Interlocked.Read(ref _errors);
    }
}

/// <summary>An observer that calls an action per item (errors and completion are ignored: the bench counts).</summary>
internal sealed class ActionObserver<T>(Action<T> onNext) : IObserver<T>
{
    public void OnNext(T value) => onNext(value);

    public void OnError(Exception error) => Console.Error.WriteLine($"observer error: {error.Message}");

    public void OnCompleted()
    {
    }
}
