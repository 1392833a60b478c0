using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json.Nodes;
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
    /// what it catches. Prints <c>ready</c> once every SubscribeAsync completed; answers <c>report</c>.
    /// </summary>
    public static async Task ReceiverAsync(RoleArgs args)
    {
        var mode = args.Get("mode", "multi") == "any" ? Catch.Any : Catch.Multi;
        var tally = new Tally(args.Long("warm"));
        var cell = await ConnectAsync(args["endpoint"], args.Get("service", "bench"));
        long missed = 0;
        long slowNotices = 0;
        long rejected = 0;
        cell.Notices.Subscribe(new ActionObserver<CellNotice>(n =>
        {
            switch (n.Kind)
            {
                case CellNoticeKind.MissedEvents or CellNoticeKind.SlowConsumer:
                    Interlocked.Add(ref missed, n.Count);
                    Interlocked.Increment(ref slowNotices);
                    break;
                case CellNoticeKind.PublishRejected or CellNoticeKind.TransmitterError or CellNoticeKind.ConnectionLost:
                    Interlocked.Increment(ref rejected);
                    Console.Error.WriteLine($"notice: {n.Kind} {n.Message}");
                    break;
                default:
                    break;
            }
        }));

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

        var observer = new ActionObserver<Event>(_ => tally.Hit());
        foreach (var subscription in subscriptions)
        {
            subscription.Subscribe(observer);
        }

        RoleIo.On("report", () =>
        {
            var report = tally.Report();
            report["sdkDropped"] = subscriptions.Sum(s => s.Dropped);
            report["missed"] = Interlocked.Read(ref missed);
            report["slowNotices"] = Interlocked.Read(ref slowNotices);
            report["rejected"] = Interlocked.Read(ref rejected);
            RoleIo.Send("report", report);
        });
        RoleIo.Send("ready", new JsonObject { ["subscriptions"] = subscriptions.Count });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// <c>--conns</c> cells in this process publishing <c>--count</c> events in all with <c>Cell.Publish</c> (fire and
    /// forget) in a tight loop, round-robin over the cells in chunks; each cell then awaits one confirmed publish on
    /// <see cref="EndChannel"/>, so <c>done</c> means the transmitter accepted every event.
    /// </summary>
    public static async Task PublisherAsync(RoleArgs args)
    {
        var conns = args.Int("conns", 1);
        var count = args.Long("count");
        var body = new byte[args.Int("size", 100)];
        Random.Shared.NextBytes(body);
        var channels = Channels(args);
        var chunk = args.Int("chunk", conns == 1 ? int.MaxValue : 100);
        var cells = await ConnectManyAsync(args["endpoint"], args.Get("service", "pub"), conns);
        RoleIo.Send("ready", new JsonObject { ["cells"] = cells.Length });
        await RoleIo.WaitForAsync("go");

        var started = Stopwatch.GetTimestamp();
        var c = 0;
        var sent = 0L;
        while (sent < count)
        {
            var cell = cells[c];
            var n = Math.Min(chunk, count - sent);
            for (var i = 0L; i < n; i++)
            {
                cell.Publish(channels[(sent + i) % channels.Length], body);
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
        var warm = Math.Max(1, count / 10);
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

    private static string ReplyChannel(Thid cell) => "rr.reply." + cell;

    private static string[] Channels(RoleArgs args) => args.Has("channels")
        ? Enumerable.Range(0, (int)args.Long("channels")).Select(i => args["prefix"] + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray()
        : [args["channel"]];

    private static Task<Cell.Cell> ConnectAsync(string endpoint, string service) =>
        Cell.Cell.ConnectAsync(CellOptions.Default with { Transmitter = endpoint, Service = service, ConnectTimeout = TimeSpan.FromSeconds(30) });

    private static async Task<Cell.Cell[]> ConnectManyAsync(string endpoint, string service, int count)
    {
        var cells = new List<Cell.Cell>(count);
        const int window = 50;
        for (var i = 0; i < count; i += window)
        {
            cells.AddRange(await Task.WhenAll(Enumerable.Range(i, Math.Min(window, count - i)).Select(_ => ConnectAsync(endpoint, service))));
        }

        return [.. cells];
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
