using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Thynapse.Bench.Scenarios;

internal enum SystemKind
{
    Thynapse,
    Nats,
}

/// <summary>
/// A publish/receive flow: <paramref name="Publishers"/> processes × <paramref name="ConnsPerPublisher"/> cells
/// (connections) publish <paramref name="Count"/> events in all; <paramref name="Receivers"/> processes, one cell each,
/// catch them (<c>multi</c>: each gets all; <c>any</c>: one service, each event to one of them).
/// </summary>
/// <param name="Subscriptions">0: one subscription on <c>bench.data</c>; N: the receiver holds <c>route.s0</c>…<c>route.s(N−1)</c>
/// and the publishers cycle through those channels.</param>
internal sealed record Flow(int Receivers, string Mode, int Size, long Count, int Publishers = 1, int ConnsPerPublisher = 1, int Subscriptions = 0);

/// <summary>Request/reply: <paramref name="Echoes"/> echo cells in one service, one requester.</summary>
/// <param name="ReplyBytes">-1: the reply is the whole request body; n: its first n bytes (an ack).</param>
internal sealed record Request(long Count, long Window, int Echoes = 1, int ReplyBytes = -1, int Size = 100);

/// <summary>
/// Runs one side of one scenario: starts the server (a hosted transmitter or nats-server) and every role as its own
/// process, coordinates them through their <c>ready</c>/<c>go</c>/<c>done</c> lines, and kills them all (by PID) at the end.
/// </summary>
internal static class Runners
{
    private const string DataChannel = "bench.data";
    private const string RoutePrefix = "route.s";

    public static async Task<RunResult> FlowAsync(RunContext ctx, SystemKind kind, Flow flow)
    {
        using var scope = new ProcessScope();
        var (server, endpoint) = StartServer(ctx, scope, kind);
        var prefix = kind == SystemKind.Thynapse ? "t-" : "n-";
        var perReceiver = flow.Mode == "multi" ? flow.Count : flow.Count / flow.Receivers;

        var receivers = new List<RoleProcess>();
        for (var r = 0; r < flow.Receivers; r++)
        {
            var args = new ArgList().Add("endpoint", endpoint).Add("mode", flow.Mode).Add("service", "sink")
                .Add("warm", Math.Max(1, perReceiver / 10));
            args = flow.Subscriptions > 0 ? args.Add("subs", flow.Subscriptions).Add("prefix", RoutePrefix) : args.Add("pattern", DataChannel);
            receivers.Add(scope.Role($"recv{r}", prefix + "recv", args));
        }

        var publishers = new List<RoleProcess>();
        for (var p = 0; p < flow.Publishers; p++)
        {
            var share = flow.Count / flow.Publishers + (p == 0 ? flow.Count % flow.Publishers : 0);
            var args = new ArgList().Add("endpoint", endpoint).Add("conns", flow.ConnsPerPublisher).Add("count", share).Add("size", flow.Size);
            args = flow.Subscriptions > 0 ? args.Add("channels", flow.Subscriptions).Add("prefix", RoutePrefix) : args.Add("channel", DataChannel);
            publishers.Add(scope.Role($"pub{p}", prefix + "pub", args));
        }

        // Everybody connected and subscribed (SubscribeAsync completed / PONG after SUB) before anyone publishes.
        var serverInfo = await server.WaitAsync("ready", ctx.ReadyTimeout);
        await Task.WhenAll(receivers.Concat(publishers).Select(r => r.WaitAsync("ready", ctx.ReadyTimeout)));

        var cpu = Meter(serverInfo, receivers.Concat(publishers));
        var deadline = Stopwatch.StartNew();
        cpu.Start();
        foreach (var publisher in publishers)
        {
            publisher.Send("go");
        }

        var done = await Task.WhenAll(publishers.Select(p => p.WaitAsync("done", ctx.RunTimeout)));
        var reports = await CollectAsync(receivers, flow.Mode == "multi", perReceiver, flow.Count, ctx.RunTimeout - deadline.Elapsed, ctx.StallTimeout, cpu);

        long lost = flow.Mode == "multi"
            ? reports.Sum(r => Math.Max(0, perReceiver - Long(r, "count")))
            : Math.Max(0, flow.Count - reports.Sum(r => Long(r, "count")));
        var notes = new List<string>();
        var extra = reports.Sum(r => Long(r, "count")) - (flow.Mode == "multi" ? perReceiver * flow.Receivers : flow.Count);
        if (extra > 0)
        {
            notes.Add($"{extra} more than sent (duplicates?)");
        }

        if (flow.Mode == "any" && flow.Receivers > 1)
        {
            var counts = reports.Select(r => Long(r, "count")).ToArray();
            notes.Add($"balance {counts.Min() / (double)Math.Max(1, counts.Max()):0.000}");
        }

        AddLossDiagnostics(notes, reports);
        if (kind == SystemKind.Thynapse && lost > 0)
        {
            notes.Add(await TransmitterStatsAsync(server));
        }

        if (reports.FirstOrDefault(r => r["failure"] is not null) is { } failed)
        {
            notes.Add("receiver: " + failed["failure"]!.GetValue<string>());
        }

        var publishSeconds = done.Max(d => d["publishSeconds"]!.GetValue<double>());
        notes.Add($"pub {flow.Count / publishSeconds / 1000:0}k/s");
        notes.Add(cpu.Summary());
        return new RunResult(new Dictionary<string, double> { ["rate"] = Rate(reports) }, lost, string.Join("; ", notes));
    }

    public static async Task<RunResult> RequestAsync(RunContext ctx, SystemKind kind, Request request)
    {
        using var scope = new ProcessScope();
        var (server, endpoint) = StartServer(ctx, scope, kind);
        var prefix = kind == SystemKind.Thynapse ? "t-" : "n-";
        var echoes = Enumerable.Range(0, request.Echoes)
            .Select(i => scope.Role($"echo{i}", prefix + "echo", new ArgList().Add("endpoint", endpoint).Add("channel", "rr.req").Add("service", "echo")
                .Add("reply-bytes", request.ReplyBytes)))
            .ToList();
        var requester = scope.Role("requester", prefix + "req", new ArgList().Add("endpoint", endpoint).Add("channel", "rr.req")
            .Add("count", request.Count).Add("window", request.Window).Add("size", request.Size));

        var serverInfo = await server.WaitAsync("ready", ctx.ReadyTimeout);
        await Task.WhenAll(echoes.Append(requester).Select(r => r.WaitAsync("ready", ctx.ReadyTimeout)));
        var cpu = Meter(serverInfo, echoes.Append(requester));
        cpu.Start();
        requester.Send("go");
        var result = await requester.WaitAsync("result", ctx.RunTimeout);
        cpu.Mark();
        var lost = Long(result, "lost");
        var values = new Dictionary<string, double>();
        string? note = null;
        if (request.Window == 1)
        {
            values["p50"] = result["p50"]!.GetValue<double>();
            values["p99"] = result["p99"]!.GetValue<double>();
            values["p999"] = result["p999"]!.GetValue<double>();
            note = $"mean {result["mean"]!.GetValue<double>():0} µs over {Long(result, "measured")} requests";
        }
        else
        {
            values["rate"] = Rate([result]);
        }

        if (request.Echoes > 1)
        {
            var counts = new List<long>();
            foreach (var echo in echoes)
            {
                counts.Add(Long(await echo.AskAsync("report", "report", TimeSpan.FromSeconds(10)), "count"));
            }

            note = $"balance {counts.Min() / (double)Math.Max(1, counts.Max()):0.000}";
        }

        if (kind == SystemKind.Thynapse && lost > 0)
        {
            note = (note is null ? "" : note + "; ") + await TransmitterStatsAsync(server);
        }

        note = (note is null ? "" : note + "; ") + cpu.Summary();
        return new RunResult(values, lost, note);
    }

    public static async Task<RunResult> RssAsync(RunContext ctx, SystemKind kind, int cells, int processes)
    {
        using var scope = new ProcessScope();
        var (server, endpoint) = StartServer(ctx, scope, kind);
        var info = await server.WaitAsync("ready", ctx.ReadyTimeout);
        var pid = (int)Long(info, "pid");

        // A moment for the fresh process to settle (JIT, first allocations) before it is measured; these two
        // pauses are measurement settling, not coordination (coordination is by the roles' ready lines).
        await Task.Delay(ctx.Settle);
        var idle = Rss.MiB(pid) ?? throw new InvalidOperationException($"cannot read /proc/{pid}/status");

        var started = Stopwatch.StartNew();
        var prefix = kind == SystemKind.Thynapse ? "t-" : "n-";
        var idlers = Enumerable.Range(0, processes)
            .Select(i => scope.Role($"idle{i}", prefix + "idle", new ArgList().Add("endpoint", endpoint).Add("count", cells / processes)))
            .ToList();
        await Task.WhenAll(idlers.Select(r => r.WaitAsync("ready", ctx.ReadyTimeout)));
        var connectSeconds = started.Elapsed.TotalSeconds;
        await Task.Delay(ctx.Settle);
        var loaded = Rss.MiB(pid) ?? throw new InvalidOperationException($"cannot read /proc/{pid}/status");
        var note = $"{cells} connected in {connectSeconds:0.0} s";
        if (kind == SystemKind.Thynapse)
        {
            var stats = await server.AskAsync("stats", "stats", TimeSpan.FromSeconds(10));
            note += $"; transmitter counts {Long(stats, "cells")} cells";
        }

        return new RunResult(new Dictionary<string, double> { ["idle"] = idle, ["loaded"] = loaded }, null, note);
    }

    /// <summary>CPU of the server (nats-server itself, not its guard) and of every role.</summary>
    private static CpuMeter Meter(JsonObject serverReady, IEnumerable<RoleProcess> roles)
    {
        var pids = new Dictionary<string, int> { ["server"] = (int)Long(serverReady, "pid") };
        foreach (var role in roles)
        {
            pids[role.Name] = role.Pid;
        }

        return new CpuMeter(pids);
    }

    private static (RoleProcess Server, string Endpoint) StartServer(RunContext ctx, ProcessScope scope, SystemKind kind)
    {
        // The port is chosen here so that every role can start at once; cells and NATS clients retry until it listens.
        var port = Ports.Free();
        if (kind == SystemKind.Thynapse)
        {
            return (scope.Role("transmitter", "transmitter", new ArgList().Add("port", port)), $"tcp://127.0.0.1:{port}");
        }

        var server = ctx.NatsServer ?? throw new InvalidOperationException("nats-server is not available");
        return (scope.Role("nats-server", "nats-guard", new ArgList().Add("port", port).Add("server", server)), $"127.0.0.1:{port}");
    }

    /// <summary>
    /// Polls the receivers until they have everything (each <paramref name="perReceiver"/> for multicatch, <paramref name="total"/>
    /// together otherwise) or their counts stop moving for <paramref name="stall"/> (the rest is lost).
    /// </summary>
    private static async Task<List<JsonObject>> CollectAsync(List<RoleProcess> receivers, bool each, long perReceiver, long total, TimeSpan timeout, TimeSpan stall, CpuMeter cpu)
    {
        var clock = Stopwatch.StartNew();
        var lastSum = -1L;
        var lastMove = clock.Elapsed;
        while (true)
        {
            var reports = (await Task.WhenAll(receivers.Select(r => r.AskAsync("report", "report", TimeSpan.FromSeconds(10))))).ToList();
            var sum = reports.Sum(r => Long(r, "count"));
            var complete = each ? reports.All(r => Long(r, "count") >= perReceiver) : sum >= total;
            if (complete)
            {
                cpu.Mark();
                return reports;
            }

            if (sum != lastSum)
            {
                cpu.Mark();
                lastSum = sum;
                lastMove = clock.Elapsed;
            }
            else if (clock.Elapsed - lastMove > stall || clock.Elapsed > timeout)
            {
                return reports;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Σ(count − warmCount) / (latest last arrival − earliest warm-up point), over receivers that warmed up.</summary>
    private static double Rate(IEnumerable<JsonObject> reports)
    {
        var warmed = reports.Where(r => Long(r, "warmTs") > 0).ToList();
        if (warmed.Count == 0)
        {
            return 0;
        }

        var measured = warmed.Sum(r => Long(r, "count") - Long(r, "warmCount"));
        var ticks = warmed.Max(r => Long(r, "lastTs")) - warmed.Min(r => Long(r, "warmTs"));
        return ticks <= 0 ? 0 : measured * (double)Stopwatch.Frequency / ticks;
    }

    private static void AddLossDiagnostics(List<string> notes, List<JsonObject> reports)
    {
        var sdkDropped = reports.Sum(r => Long(r, "sdkDropped"));
        var missed = reports.Sum(r => Long(r, "missed"));
        if (sdkDropped > 0)
        {
            notes.Add($"{sdkDropped} dropped in the cell SDK (subscription buffer full)");
        }

        if (missed > 0)
        {
            notes.Add($"SLOW/slow-consumer notices count {missed}");
        }
    }

    private static async Task<string> TransmitterStatsAsync(RoleProcess transmitter)
    {
        try
        {
            var s = await transmitter.AskAsync("stats", "stats", TimeSpan.FromSeconds(10));
            return $"transmitter: received {Long(s, "eventsReceived")}, deliveries {Long(s, "deliveries")}, dropped {Long(s, "deliveriesDropped")}, "
                + $"rejected {Long(s, "eventsRejected")}, replies dropped {Long(s, "repliesDropped")}";
        }
        catch (Exception ex) when (ex is TimeoutException or RoleFailedException)
        {
            return "transmitter stats unavailable: " + ex.Message;
        }
    }

    private static long Long(JsonObject o, string key) => o[key] switch
    {
        null => 0,
        var v when v.AsValue().TryGetValue(out long l) => l,
        var v => Convert.ToInt64(v.GetValue<double>(), CultureInfo.InvariantCulture),
    };
}
