using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Thynapse.Bench.Roles;
using Thynapse.ProcessKit;

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
/// <param name="Servers">1, or a cluster of that many (<see cref="ServerSet"/>): the publishers on the first server, receiver r on server (r + 1) mod n.</param>
/// <param name="Check">The publisher stamps event numbers and each receiver checks them (<see cref="Roles.SequenceCheck"/>):
/// lost and duplicates are then exact per receiver, and out-of-order arrivals are counted. One publisher cell only.</param>
internal sealed record Flow(int Receivers, string Mode, int Size, long Count, int Publishers = 1, int ConnsPerPublisher = 1, int Subscriptions = 0, int Servers = 1, bool Check = false);

/// <summary>
/// Acknowledged anycatch: one publisher cell publishing <paramref name="Count"/> events fire-and-forget to
/// <paramref name="Receivers"/> cells of one service that catch with <c>HandleAsync</c>, each holding at most
/// <paramref name="Prefetch"/> unacknowledged.
/// </summary>
/// <param name="CompleteEvery">The publisher's pacing: every this many events one is published awaiting completion, and at
/// most two such chunks are incomplete (0: no pacing, and a publisher 100,000 events ahead is refused with QUEUE_FULL).</param>
/// <param name="Warm">Events (of <paramref name="Count"/>) the receivers leave out of the measurement as warm-up.</param>
/// <param name="Servers">1, or a cluster: the publisher on the first server, receiver r on server (r + 1) mod n.</param>
internal sealed record AckFlow(int Receivers, long Count, int Prefetch, long Warm, int Size = 100, long CompleteEvery = 10_000, int Servers = 1);

/// <summary>
/// Targeted events: <paramref name="Cells"/> cells (or NATS connections) in <paramref name="Processes"/> processes, with
/// <see cref="MetaSpec"/> metadata, all catching one channel in one service; one publisher targets
/// <see cref="MetaSpec.Query"/> with <paramref name="Count"/> events.
/// </summary>
internal sealed record Meta(int Cells, int Processes, long Count, int Size = 100);

/// <summary>
/// A raw-NetMQ reference flow: <c>direct</c> (XPUB→SUB) or <c>relay</c> (DEALER→ROUTER relay→DEALER), 1→1,
/// <paramref name="Count"/> messages of <paramref name="Size"/> bytes, batched into <paramref name="Batch"/>-byte frames (0: one frame each).
/// </summary>
/// <param name="Hwm">High-water mark (frames) of the sockets on the path.</param>
internal sealed record NetMqFlow(string Mode, int Size, long Count, int Batch, int Hwm = 1000);

/// <summary>Request/reply: <paramref name="Echoes"/> echo cells in one service, one requester.</summary>
/// <param name="ReplyBytes">-1: the reply is the whole request body; n: its first n bytes (an ack).</param>
/// <param name="Warm">Requests (of <paramref name="Count"/>) left out of the measurement as warm-up (0: the first tenth).</param>
/// <param name="Servers">1, or a cluster: the requester on the first server, echo i on server (i + 1) mod n.</param>
internal sealed record Request(long Count, long Window, int Echoes = 1, int ReplyBytes = -1, int Size = 100, long Warm = 0, int Servers = 1)
{
    /// <summary>The warm-up requests: <see cref="Warm"/>, or the first tenth.</summary>
    public long WarmCount => Warm > 0 ? Warm : Math.Max(1, Count / 10);
}

/// <summary>The servers of one run: one, or a cluster whose members all know each other before anything else starts.</summary>
internal sealed record ServerSet(IReadOnlyList<RoleProcess> Roles, IReadOnlyList<string> Endpoints)
{
    /// <summary>Where the i-th receiver (echo, worker) connects: the server after the publishers' one, round robin.</summary>
    public string ForReceiver(int i) => Endpoints[(i + 1) % Endpoints.Count];

    /// <summary>Where publishers (requesters) connect.</summary>
    public string ForPublisher => Endpoints[0];
}

/// <summary>
/// Runs one side of one scenario: starts the server (a hosted transmitter or nats-server) and every role as its own
/// process, coordinates them through their <c>ready</c>/<c>go</c>/<c>done</c> lines, and kills them all (by PID) at the end.
/// </summary>
internal static class Runners
{
    private const string DataChannel = "bench.data";
    private const string RoutePrefix = "route.s";

    /// <summary>Events per second of the targeted flow's paced warm-up (its first tenth).</summary>
    private const long WarmUpRate = 250_000;

    public static async Task<RunResult> FlowAsync(RunContext ctx, SystemKind kind, Flow flow)
    {
        using var scope = new ProcessScope();
        var servers = StartServers(ctx, scope, kind, flow.Servers);
        var server = servers.Roles[0];
        var prefix = kind == SystemKind.Thynapse ? "t-" : "n-";
        var receivers = new List<RoleProcess>();
        for (var r = 0; r < flow.Receivers; r++)
        {
            var args = new ArgList().Add("endpoint", servers.ForReceiver(r)).Add("mode", flow.Mode).Add("service", "sink")
                .Add("warm", 1).Add("warm-seconds", ctx.WarmUp.TotalSeconds);
            args = flow.Subscriptions > 0 ? args.Add("subs", flow.Subscriptions).Add("prefix", RoutePrefix) : args.Add("pattern", DataChannel);
            if (flow.Check)
            {
                // The full-speed warm-up's length is not known in advance: room for 100M more numbers (12.5 MB of bitmap).
                args = args.Add("check", flow.Count + (ctx.WarmUp > TimeSpan.Zero ? 100_000_000 : 0));
            }

            receivers.Add(scope.Role($"recv{r}", prefix + "recv", args));
        }

        var publishers = new List<RoleProcess>();
        for (var p = 0; p < flow.Publishers; p++)
        {
            var share = flow.Count / flow.Publishers + (p == 0 ? flow.Count % flow.Publishers : 0);
            var args = new ArgList().Add("endpoint", servers.ForPublisher).Add("conns", flow.ConnsPerPublisher).Add("count", share).Add("size", flow.Size)
                .Add("warm-seconds", ctx.WarmUp.TotalSeconds);
            args = flow.Subscriptions > 0 ? args.Add("channels", flow.Subscriptions).Add("prefix", RoutePrefix) : args.Add("channel", DataChannel);
            args = flow.Check ? args.Add("stamp", 1) : args;
            publishers.Add(scope.Role($"pub{p}", prefix + "pub", args));
        }

        // Everybody connected and subscribed (SubscribeAsync completed / PONG after SUB) before anyone publishes.
        var setup = Stopwatch.StartNew();
        var serverInfo = await ServersReadyAsync(servers, ctx);
        await Task.WhenAll(receivers.Concat(publishers).Select(r => r.WaitAsync("ready", ctx.ReadyTimeout)));
        await InterestSettledAsync(servers);
        var setupSeconds = setup.Elapsed.TotalSeconds;

        var cpu = Meter(serverInfo, receivers.Concat(publishers));
        var deadline = Stopwatch.StartNew();
        cpu.Start();
        foreach (var publisher in publishers)
        {
            publisher.Send("go");
        }

        var done = await Task.WhenAll(publishers.Select(p => p.WaitAsync("done", ctx.RunTimeout)));
        var sent = done.Sum(d => Long(d, "sent")); // the counted events and the warm-up's
        var perReceiver = flow.Mode == "multi" ? sent : sent / flow.Receivers;
        var reports = await CollectAsync(receivers, flow.Mode == "multi", perReceiver, sent, ctx.RunTimeout - deadline.Elapsed, ctx.StallTimeout, cpu);

        long lost = flow.Mode == "multi"
            ? reports.Sum(r => Math.Max(0, perReceiver - Distinct(r)))
            : Math.Max(0, sent - reports.Sum(r => Long(r, "count")));
        var notes = new List<string>();
        if (flow.Check)
        {
            notes.Add(string.Join(", ", reports.Select((r, i) =>
                $"recv{i} lost {perReceiver - Distinct(r)} dup {Long(r, "duplicates")} out-of-order {Long(r, "outOfOrder")}"
                + (Long(r, "gaps") > 0 ? $" in {Long(r, "gaps")} gap(s), first number {Long(r, "lowest")}" : "")
                + (Long(r, "outOfRange") > 0 ? $" out-of-range {Long(r, "outOfRange")}" : ""))));
        }

        var extra = reports.Sum(r => Long(r, "count")) - (flow.Mode == "multi" ? perReceiver * flow.Receivers : sent);
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
            foreach (var (role, i) in servers.Roles.Select((role, i) => (role, i)))
            {
                notes.Add((i == 0 ? "" : $"server{i} ") + await TransmitterStatsAsync(role));
            }
        }

        if (reports.FirstOrDefault(r => r["failure"] is not null) is { } failed)
        {
            notes.Add("receiver: " + failed["failure"]!.GetValue<string>());
        }

        if (kind == SystemKind.Thynapse && await RejectedAsync(publishers) is > 0 and var rejected)
        {
            notes.Add($"{rejected} publishes refused by the transmitter");
        }

        var publishSeconds = done.Max(d => d["publishSeconds"]!.GetValue<double>());
        notes.Add($"sent {sent} (with the warm-up); pub {sent / publishSeconds / 1000:0}k/s");
        notes.Add(cpu.Summary());
        notes.Add($"setup {setupSeconds:0.0} s");
        return new RunResult(new Dictionary<string, double> { ["rate"] = Rate(reports) }, lost, string.Join("; ", notes));
    }

    /// <summary>
    /// Scenario 4 on Thynapse: <see cref="AckFlow.Receivers"/> <c>t-ack</c> cells (HandleAsync, prefetch each), one
    /// <c>t-pub</c> stamping event numbers. Throughput is acknowledged events per second at the receivers (counted when
    /// the handler returns, which acknowledges); lost = published − distinct events handled (union of the receivers'
    /// bitmaps), so a duplicate can never hide a loss.
    /// </summary>
    public static async Task<RunResult> AckFlowAsync(RunContext ctx, AckFlow flow)
    {
        using var scope = new ProcessScope();
        var servers = StartServers(ctx, scope, SystemKind.Thynapse, flow.Servers);
        var server = servers.Roles[0];
        var perReceiver = flow.Count / flow.Receivers;
        var receivers = Enumerable.Range(0, flow.Receivers)
            .Select(r => scope.Role($"recv{r}", "t-ack", new ArgList().Add("endpoint", servers.ForReceiver(r)).Add("service", "sink").Add("pattern", DataChannel)
                .Add("prefetch", flow.Prefetch).Add("warm", Math.Max(1, flow.Warm / flow.Receivers)).Add("expect", flow.Count)))
            .ToList();
        var publisher = scope.Role("pub0", "t-pub", new ArgList().Add("endpoint", servers.ForPublisher).Add("count", flow.Count).Add("size", flow.Size)
            .Add("channel", DataChannel).Add("stamp", 1).Add("complete-every", flow.CompleteEvery).Add("complete-window", 2));

        var setup = Stopwatch.StartNew();
        var serverInfo = await ServersReadyAsync(servers, ctx);
        await Task.WhenAll(receivers.Append(publisher).Select(r => r.WaitAsync("ready", ctx.ReadyTimeout)));
        await InterestSettledAsync(servers);
        var setupSeconds = setup.Elapsed.TotalSeconds;
        var cpu = Meter(serverInfo, receivers.Append(publisher));
        var deadline = Stopwatch.StartNew();
        cpu.Start();
        publisher.Send("go");
        var done = await publisher.WaitAsync("done", ctx.RunTimeout);
        var reports = await CollectAsync(receivers, false, perReceiver, flow.Count, ctx.RunTimeout - deadline.Elapsed, ctx.StallTimeout, cpu);
        var distinct = await DistinctAsync(receivers);
        var handled = reports.Sum(r => Long(r, "count"));
        var lost = Math.Max(0, flow.Count - distinct);

        var notes = new List<string>();
        if (handled - distinct is > 0 and var duplicates)
        {
            notes.Add($"{duplicates} duplicates handled");
        }

        if (reports.Sum(r => Long(r, "duplicatesSuppressed")) is > 0 and var suppressed)
        {
            notes.Add($"{suppressed} duplicates suppressed by the SDK");
        }

        var counts = reports.Select(r => Long(r, "count")).ToArray();
        notes.Add($"balance {counts.Min() / (double)Math.Max(1, counts.Max()):0.000} (handled by recv0..{counts.Length - 1}: {string.Join(" / ", counts)})");
        AddLossDiagnostics(notes, reports);
        if (await RejectedAsync([publisher]) is > 0 and var rejected)
        {
            notes.Add($"{rejected} publishes refused (QUEUE_FULL?)");
        }

        if (lost > 0)
        {
            notes.Add(await TransmitterStatsAsync(server));
        }

        notes.Add($"pub {flow.Count / done["publishSeconds"]!.GetValue<double>() / 1000:0}k/s");
        notes.Add(cpu.Summary());
        notes.Add($"setup {setupSeconds:0.0} s");
        return new RunResult(new Dictionary<string, double> { ["rate"] = Rate(reports) }, lost, string.Join("; ", notes));
    }

    /// <summary>
    /// Scenario 11. Thynapse: <see cref="Meta.Processes"/> <c>t-meta</c> processes hold the cells (metadata from
    /// <see cref="MetaSpec"/>, all anycatching <see cref="MetaSpec.Channel"/> in service <c>pool</c>) and one <c>t-pub</c>
    /// publishes every event with the target <see cref="MetaSpec.Query"/> (one <c>PublishOptions</c> for all). NATS: the
    /// same numbers of connections; the matching ones form a queue group on <see cref="MetaSpec.EligibleSubject"/> (the
    /// eligible set decided outside NATS), the publisher publishes there. Throughput: events caught per second by all
    /// matching cells together; lost = published − distinct events caught by a matching cell (a misrouted event counts
    /// as lost and is named in the note).
    /// </summary>
    public static async Task<RunResult> MetaAsync(RunContext ctx, SystemKind kind, Meta meta)
    {
        using var scope = new ProcessScope();
        var (server, endpoint) = StartServer(ctx, scope, kind);
        var thynapse = kind == SystemKind.Thynapse;
        var perProcess = meta.Cells / meta.Processes;
        var matchingTotal = MetaSpec.MatchingIn(0, perProcess * meta.Processes);
        var holders = Enumerable.Range(0, meta.Processes).Select(p =>
        {
            var share = meta.Count * MetaSpec.MatchingIn(p * perProcess, perProcess) / Math.Max(1, matchingTotal);
            return scope.Role($"cells{p}", thynapse ? "t-meta" : "n-meta", new ArgList().Add("endpoint", endpoint).Add("service", "pool")
                .Add("channel", MetaSpec.Channel).Add("count", perProcess).Add("offset", p * perProcess)
                .Add("warm", share / 10).Add("expect", meta.Count).Add("max-sockets", 16 * perProcess + 64));
        }).ToList();
        var pubArgs = new ArgList().Add("endpoint", endpoint).Add("count", meta.Count).Add("size", meta.Size).Add("stamp", 1)
            .Add("warm", meta.Count / 10).Add("warm-rate", WarmUpRate);
        pubArgs = thynapse ? pubArgs.Add("channel", MetaSpec.Channel).Add("target", MetaSpec.Query) : pubArgs.Add("channel", MetaSpec.EligibleSubject);
        var publisher = scope.Role("pub0", thynapse ? "t-pub" : "n-pub", pubArgs);

        var setup = Stopwatch.StartNew();
        var serverInfo = await server.WaitAsync("ready", ctx.ReadyTimeout);
        await Task.WhenAll(holders.Append(publisher).Select(r => r.WaitAsync("ready", ctx.ReadyTimeout)));
        var setupSeconds = setup.Elapsed.TotalSeconds;
        var cpu = Meter(serverInfo, holders.Append(publisher));
        var deadline = Stopwatch.StartNew();
        cpu.Start();
        publisher.Send("go");
        var done = await publisher.WaitAsync("done", ctx.RunTimeout);
        var reports = await CollectAsync(holders, false, 0, meta.Count, ctx.RunTimeout - deadline.Elapsed, ctx.StallTimeout, cpu);
        var distinct = await DistinctAsync(holders);
        var caught = reports.Sum(r => Long(r, "count"));
        var misrouted = reports.Sum(r => Long(r, "misrouted"));
        var lost = Math.Max(0, meta.Count - distinct);

        var notes = new List<string> { $"{matchingTotal} of {perProcess * meta.Processes} cells match" };
        if (misrouted > 0)
        {
            notes.Add($"MISROUTED: {misrouted} caught by cells that do not match");
        }

        if (caught - distinct is > 0 and var duplicates)
        {
            notes.Add($"{duplicates} duplicates");
        }

        if (thynapse)
        {
            notes.Add($"per matching cell {reports.Min(r => Long(r, "matching") > 0 ? Long(r, "minPerCell") : long.MaxValue)}–{reports.Max(r => Long(r, "maxPerCell"))}");
        }

        AddLossDiagnostics(notes, reports);
        if (thynapse && await RejectedAsync([publisher]) is > 0 and var rejected)
        {
            notes.Add($"{rejected} publishes refused");
        }

        if (thynapse && lost > 0)
        {
            notes.Add(await TransmitterStatsAsync(server));
        }

        notes.Add($"pub {meta.Count / done["publishSeconds"]!.GetValue<double>() / 1000:0}k/s");
        notes.Add(cpu.Summary());
        notes.Add($"setup {setupSeconds:0.0} s");
        return new RunResult(new Dictionary<string, double> { ["rate"] = Rate(reports) }, lost, string.Join("; ", notes));
    }

    /// <summary>
    /// A raw-NetMQ reference flow (<see cref="NetMqFlow"/>): <c>m-pub</c> → (<c>m-relay</c>) → <c>m-sub</c>, counted at
    /// the subscriber like every other flow. The relay flows cannot lose (back-pressure); direct PUB→SUB may drop at
    /// its high-water mark, which shows as lost (never failing the bench: a reference promises nothing).
    /// </summary>
    public static async Task<RunResult> NetMqFlowAsync(RunContext ctx, NetMqFlow flow)
    {
        using var scope = new ProcessScope();
        var port = Ports.Free();
        var endpoint = $"tcp://127.0.0.1:{port}";
        var relay = flow.Mode == "relay" ? scope.Role("relay", "m-relay", new ArgList().Add("port", port).Add("fan", "all")) : null;
        var receiver = scope.Role("recv0", "m-sub", new ArgList().Add("endpoint", endpoint).Add("mode", flow.Mode).Add("batch", flow.Batch)
            .Add("hwm", flow.Hwm).Add("warm", 1).Add("warm-seconds", ctx.WarmUp.TotalSeconds));
        var publisher = scope.Role("pub0", "m-pub", new ArgList().Add("endpoint", endpoint).Add("mode", flow.Mode).Add("batch", flow.Batch)
            .Add("hwm", flow.Hwm).Add("count", flow.Count).Add("size", flow.Size).Add("warm-seconds", ctx.WarmUp.TotalSeconds));

        var setup = Stopwatch.StartNew();
        var relayInfo = relay is null ? null : await relay.WaitAsync("ready", ctx.ReadyTimeout);
        await Task.WhenAll(receiver.WaitAsync("ready", ctx.ReadyTimeout), publisher.WaitAsync("ready", ctx.ReadyTimeout));
        var setupSeconds = setup.Elapsed.TotalSeconds;
        var cpu = Meter(relayInfo, [receiver, publisher]);
        var deadline = Stopwatch.StartNew();
        cpu.Start();
        publisher.Send("go");
        var done = await publisher.WaitAsync("done", ctx.RunTimeout);
        var sent = Long(done, "sent");
        var reports = await CollectAsync([receiver], false, sent, sent, ctx.RunTimeout - deadline.Elapsed, ctx.StallTimeout, cpu);
        var lost = Math.Max(0, sent - Long(reports[0], "count"));
        var notes = new List<string>
        {
            $"sent {sent} (with the warm-up); pub {sent / done["publishSeconds"]!.GetValue<double>() / 1000:0}k/s",
            cpu.Summary(),
            $"setup {setupSeconds:0.0} s",
        };
        return new RunResult(new Dictionary<string, double> { ["rate"] = Rate(reports) }, lost, string.Join("; ", notes));
    }

    /// <summary>
    /// Request/reply through the raw-NetMQ relay: <c>m-req</c> → <c>m-relay</c> → <c>m-echo</c> and back; with several
    /// echoes the relay deals the request frames out round-robin (the transport's limit for windowed work sharing).
    /// </summary>
    public static async Task<RunResult> NetMqRequestAsync(RunContext ctx, Request request)
    {
        using var scope = new ProcessScope();
        var port = Ports.Free();
        var endpoint = $"tcp://127.0.0.1:{port}";
        var relay = scope.Role("relay", "m-relay", new ArgList().Add("port", port).Add("fan", "rr"));
        var echoes = Enumerable.Range(0, request.Echoes)
            .Select(i => scope.Role($"echo{i}", "m-echo", new ArgList().Add("endpoint", endpoint).Add("reply-bytes", Math.Max(0, request.ReplyBytes))))
            .ToList();
        var relayInfo = await relay.WaitAsync("ready", ctx.ReadyTimeout);
        await Task.WhenAll(echoes.Select(e => e.WaitAsync("ready", ctx.ReadyTimeout))); // registered before the requester sends anything
        var requester = scope.Role("requester", "m-req", new ArgList().Add("endpoint", endpoint).Add("count", request.Count)
            .Add("warm", request.WarmCount).Add("window", request.Window).Add("size", request.Size));
        await requester.WaitAsync("ready", ctx.ReadyTimeout);
        return await RequestResultAsync([relayInfo], echoes, requester, request, ctx, null);
    }

    public static async Task<RunResult> RequestAsync(RunContext ctx, SystemKind kind, Request request)
    {
        using var scope = new ProcessScope();
        var servers = StartServers(ctx, scope, kind, request.Servers);
        var server = servers.Roles[0];
        var prefix = kind == SystemKind.Thynapse ? "t-" : "n-";
        var echoes = Enumerable.Range(0, request.Echoes)
            .Select(i => scope.Role($"echo{i}", prefix + "echo", new ArgList().Add("endpoint", servers.ForReceiver(i)).Add("channel", "rr.req").Add("service", "echo")
                .Add("reply-bytes", request.ReplyBytes)))
            .ToList();
        var requester = scope.Role("requester", prefix + "req", new ArgList().Add("endpoint", servers.ForPublisher).Add("channel", "rr.req")
            .Add("count", request.Count).Add("warm", request.WarmCount).Add("window", request.Window).Add("size", request.Size));

        var serverInfo = await ServersReadyAsync(servers, ctx);
        await Task.WhenAll(echoes.Append(requester).Select(r => r.WaitAsync("ready", ctx.ReadyTimeout)));
        await InterestSettledAsync(servers);
        return await RequestResultAsync(serverInfo, echoes, requester, request, ctx, kind == SystemKind.Thynapse ? server : null);
    }

    /// <summary>Starts the requester, waits for its result and turns it into values and a note (balance, CPU, transmitter counters on loss).</summary>
    private static async Task<RunResult> RequestResultAsync(IReadOnlyList<JsonObject> serverInfo, List<RoleProcess> echoes, RoleProcess requester, Request request, RunContext ctx, RoleProcess? transmitter)
    {
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

        if (transmitter is not null && lost > 0)
        {
            note = (note is null ? "" : note + "; ") + await TransmitterStatsAsync(transmitter);
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
            .Select(i => scope.Role($"idle{i}", prefix + "idle", new ArgList().Add("endpoint", endpoint).Add("count", cells / processes)
                .Add("max-sockets", 16 * cells / processes + 64)))
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
    private static CpuMeter Meter(JsonObject? serverReady, IEnumerable<RoleProcess> roles) => Meter(serverReady is null ? [] : [serverReady], roles);

    /// <summary>CPU of the servers (<c>server</c>, <c>server1</c>…: nats-server itself, not its guard) and of every role.</summary>
    private static CpuMeter Meter(IReadOnlyList<JsonObject> serversReady, IEnumerable<RoleProcess> roles)
    {
        var pids = new Dictionary<string, int>();
        for (var i = 0; i < serversReady.Count; i++)
        {
            pids[i == 0 ? "server" : $"server{i}"] = (int)Long(serversReady[i], "pid");
        }

        foreach (var role in roles)
        {
            pids[role.Name] = role.Pid;
        }

        return new CpuMeter(pids);
    }

    private static (RoleProcess Server, string Endpoint) StartServer(RunContext ctx, ProcessScope scope, SystemKind kind)
    {
        var set = StartServers(ctx, scope, kind, 1);
        return (set.Roles[0], set.Endpoints[0]);
    }

    /// <summary>
    /// Starts <paramref name="count"/> servers: one, or a cluster — transmitters that join the first one's mesh
    /// (<c>--peer</c>), or nats-servers with routes to each other (a full mesh of routes, as NATS documents for a cluster).
    /// </summary>
    private static ServerSet StartServers(RunContext ctx, ProcessScope scope, SystemKind kind, int count)
    {
        // The ports are chosen here so that every role can start at once; cells and NATS clients retry until it listens.
        var ports = Enumerable.Range(0, count).Select(_ => Ports.Free()).ToArray();
        var roles = new List<RoleProcess>();
        var endpoints = new List<string>();
        var name = count == 1 ? (Func<int, string>)(_ => kind == SystemKind.Thynapse ? "transmitter" : "nats-server") : i => $"server{i}";
        if (kind == SystemKind.Thynapse)
        {
            for (var i = 0; i < count; i++)
            {
                roles.Add(scope.Role(name(i), "transmitter", new ArgList().Add("port", ports[i]).AddIf(i > 0, "peer", $"tcp://127.0.0.1:{ports[0]}")));
                endpoints.Add($"tcp://127.0.0.1:{ports[i]}");
            }

            return new ServerSet(roles, endpoints);
        }

        var server = ctx.NatsServer ?? throw new InvalidOperationException("nats-server is not available");
        var clusterPorts = Enumerable.Range(0, count).Select(_ => count > 1 ? Ports.Free() : 0).ToArray();
        for (var i = 0; i < count; i++)
        {
            var args = new ArgList().Add("port", ports[i]).Add("server", server);
            if (count > 1)
            {
                var routes = string.Join(',', clusterPorts.Where((_, k) => k != i).Select(p => $"nats://127.0.0.1:{p}"));
                args = args.Add("cluster-port", clusterPorts[i]).Add("routes", routes);
            }

            roles.Add(scope.Role(name(i), "nats-guard", args));
            endpoints.Add($"127.0.0.1:{ports[i]}");
        }

        return new ServerSet(roles, endpoints);
    }

    /// <summary>
    /// Waits until every server is ready and, in a cluster, knows all the others (transmitters: alive members; NATS:
    /// routes created); returns their <c>ready</c> messages.
    /// </summary>
    private static async Task<JsonObject[]> ServersReadyAsync(ServerSet servers, RunContext ctx)
    {
        var ready = await Task.WhenAll(servers.Roles.Select(s => s.WaitAsync("ready", ctx.ReadyTimeout)));
        if (servers.Roles.Count > 1)
        {
            var watch = Stopwatch.StartNew();
            foreach (var server in servers.Roles)
            {
                while (Long(await server.AskAsync("mesh", "mesh", TimeSpan.FromSeconds(10)), "alive") < servers.Roles.Count - 1)
                {
                    if (watch.Elapsed > ctx.ReadyTimeout)
                    {
                        throw new TimeoutException($"{server.Name} did not see the {servers.Roles.Count - 1} other servers within {ctx.ReadyTimeout.TotalSeconds:0} s");
                    }

                    await Task.Delay(50); // allowed in the bench: a poll of the servers' own view
                }
            }
        }

        return ready;
    }

    /// <summary>
    /// In a cluster, subscriptions travel to the other servers after the subscriber's own server took them (Thynapse:
    /// the cell's record on the mesh, §12.8; NATS: the route's interest): a pause lets them arrive before the publishers
    /// start. A full run's warm-up (4 s of full-speed publishing, not counted) covers it as well.
    /// </summary>
    private static Task InterestSettledAsync(ServerSet servers) => servers.Roles.Count > 1 ? Task.Delay(TimeSpan.FromSeconds(1)) : Task.CompletedTask;

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

    /// <summary>Distinct event numbers caught by all <paramref name="receivers"/> together (the union of their bitmaps).</summary>
    private static async Task<long> DistinctAsync(List<RoleProcess> receivers)
    {
        var seen = await Task.WhenAll(receivers.Select(r => r.AskAsync("seen", "seen", TimeSpan.FromSeconds(10))));
        return SeenSet.DistinctOfUnion(seen.Select(s => s["bits"]!.GetValue<string>()));
    }

    /// <summary>Publishes the Thynapse publishers were told the transmitter refused (fire-and-forget refusals arrive as notices).</summary>
    private static async Task<long> RejectedAsync(IEnumerable<RoleProcess> publishers)
    {
        var reports = await Task.WhenAll(publishers.Select(p => p.AskAsync("report", "report", TimeSpan.FromSeconds(10))));
        return reports.Sum(r => Long(r, "rejected"));
    }

    private static async Task<string> TransmitterStatsAsync(RoleProcess transmitter)
    {
        try
        {
            var s = await transmitter.AskAsync("stats", "stats", TimeSpan.FromSeconds(10));
            return $"transmitter: received {Long(s, "eventsReceived")}, deliveries {Long(s, "deliveries")}, dropped {Long(s, "deliveriesDropped")}, backlogs {Long(s, "backlogs")}, slow verdicts {Long(s, "slowVerdicts")}, credit pauses {Long(s, "creditPauses")}, "
                + $"rejected {Long(s, "eventsRejected")}, replies dropped {Long(s, "repliesDropped")}, without receiver {Long(s, "eventsWithoutReceiver")}, "
                + $"acks {Long(s, "acks")}, redeliveries {Long(s, "redeliveries")}, in flight {Long(s, "inFlight")}, queued {Long(s, "queued")}"
                + (Long(s, "meshForwarded") + Long(s, "meshForwardsReceived") > 0
                    ? $", mesh forwarded {Long(s, "meshForwarded")} in {Long(s, "meshSent")} mesh messages, forwards received {Long(s, "meshForwardsReceived")}, resent {Long(s, "meshForwardsResent")}, gone {Long(s, "meshForwardsGone")}, lost {Long(s, "meshForwardsLost")}, stream gaps {Long(s, "meshMessagesLost")}, malformed {Long(s, "meshMalformed")}"
                    : "");
        }
        catch (Exception ex) when (ex is TimeoutException or RoleFailedException)
        {
            return "transmitter stats unavailable: " + ex.Message;
        }
    }

    /// <summary>The distinct events a receiver caught: all it counted when unchecked, without duplicates and strays when checked.</summary>
    private static long Distinct(JsonObject report) => Long(report, "count") - Long(report, "duplicates") - Long(report, "outOfRange");

    private static long Long(JsonObject o, string key) => o[key] switch
    {
        null => 0,
        var v when v.AsValue().TryGetValue(out long l) => l,
        var v => Convert.ToInt64(v.GetValue<double>(), CultureInfo.InvariantCulture),
    };
}
