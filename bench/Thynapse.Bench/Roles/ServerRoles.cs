using System.Diagnostics;
using System.Text.Json.Nodes;
using Thynapse.Core;
using Thynapse.Transmitter;

namespace Thynapse.Bench.Roles;

/// <summary>The servers: a Thynapse transmitter hosted in this process, or a guarded nats-server child.</summary>
internal static class ServerRoles
{
    /// <summary>The environment variable giving the transmitters' CURVE secret key (<c>--curve</c>).</summary>
    public const string CurveSecretVariable = "THYNAPSE_BENCH_CURVE_SECRET";

    /// <summary>The environment variable giving cells the transmitters' CURVE public key (<c>--curve</c>).</summary>
    public const string CurvePublicVariable = "THYNAPSE_BENCH_CURVE_PUBLIC";

    /// <summary>
    /// Hosts <see cref="Transmitter.Start"/> with the production defaults, set up as the transmitter executable sets
    /// itself up (pooled NetMQ buffers, same GC settings via this project's runtimeconfig). Answers <c>stats</c>.
    /// </summary>
    public static async Task TransmitterAsync(RoleArgs args)
    {
        PooledBufferPool.Install();
        var transmitter = Transmitter.Transmitter.Start(TransmitterOptions.Default with
        {
            CommandEndpoint = $"tcp://127.0.0.1:{args.Int("port", 0)}",
            EventsEndpoint = "tcp://127.0.0.1:0",
            AdvertiseHost = "127.0.0.1",
            Peers = args.Has("peer") ? [args["peer"]] : [],
            CurveSecretKey = Environment.GetEnvironmentVariable(CurveSecretVariable),
            // As the executable takes it: to measure a mesh under a cluster secret (CURVE on the event sockets).
            Mesh = Transmitter.Mesh.MeshOptions.Default with { ClusterSecret = Environment.GetEnvironmentVariable("THYNAPSE_CLUSTER_SECRET") },
        });
        RoleIo.On("mesh", () => RoleIo.Send("mesh", new JsonObject { ["alive"] = transmitter.Peers.Count(p => p.State == PeerState.Alive) }));
        RoleIo.On("stats", () =>
        {
            var s = transmitter.Stats;
            RoleIo.Send("stats", new JsonObject
            {
                ["eventsReceived"] = s.EventsReceived,
                ["eventsRejected"] = s.EventsRejected,
                ["eventsWithoutReceiver"] = s.EventsWithoutReceiver,
                ["deliveries"] = s.Deliveries,
                ["deliveriesDropped"] = s.DeliveriesDropped,
                ["backlogs"] = s.Backlogs,
                ["slowVerdicts"] = s.SlowVerdicts,
                ["creditPauses"] = s.CreditPauses,
                ["confirmationsDropped"] = s.ConfirmationsDropped,
                ["repliesDropped"] = s.RepliesDropped,
                ["protocolErrors"] = s.ProtocolErrors,
                ["cells"] = s.Cells,
                ["subscriptions"] = s.Subscriptions,
                ["acks"] = s.Acks,
                ["nacks"] = s.Nacks,
                ["ackTimeouts"] = s.AckTimeouts,
                ["redeliveries"] = s.Redeliveries,
                ["deadLetters"] = s.DeadLetters,
                ["inFlight"] = s.InFlight,
                ["queued"] = s.Queued,
                ["meshForwarded"] = s.MeshEventsForwarded,
                ["meshSent"] = s.MeshMessagesSent,
                ["meshForwardsReceived"] = s.MeshForwardsReceived,
                ["meshForwardsResent"] = s.MeshForwardsResent,
                ["meshForwardsGone"] = s.MeshForwardsGone,
                ["meshForwardsLost"] = s.MeshForwardsLost,
                ["meshMessagesLost"] = s.MeshMessagesLost,
                ["meshMalformed"] = s.MeshMalformed,
            });
        });
        RoleIo.Send("ready", new JsonObject { ["endpoint"] = transmitter.CommandEndpoint, ["pid"] = Environment.ProcessId });
        await RoleHost.ParkAsync();
    }

    /// <summary>
    /// Starts nats-server on a loopback port and kills it (by its PID) when the orchestrator stops this role or goes
    /// away: nats-server never outlives the bench.
    /// </summary>
    public static async Task NatsGuardAsync(RoleArgs args)
    {
        var port = args.Int("port", 0);
        var info = new ProcessStartInfo(args["server"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string[] serverArgs = ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (args.Has("cluster-port"))
        {
            // A cluster node: routes to the others (full mesh, as the transmitters form), each route counted when created.
            serverArgs = [.. serverArgs, "--cluster", $"nats://127.0.0.1:{args["cluster-port"]}", "--routes", args["routes"]];
        }

        foreach (var arg in serverArgs)
        {
            info.ArgumentList.Add(arg);
        }

        using var server = Process.Start(info) ?? throw new InvalidOperationException("could not start nats-server");
        var pid = server.Id;
        void KillServer()
        {
            try
            {
                if (!server.HasExited)
                {
                    server.Kill();
                    server.WaitForExit(2000); // reap it
                }
            }
            catch (InvalidOperationException)
            {
            }
        }

        RoleIo.Exiting += KillServer;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillServer();

        // nats-server logs to stderr; "Server is ready" means it listens, "Route connection created" a route up.
        var routes = 0;
        RoleIo.On("mesh", () => RoleIo.Send("mesh", new JsonObject { ["alive"] = Volatile.Read(ref routes) }));
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            string? line;
            while ((line = await server.StandardError.ReadLineAsync()) is not null)
            {
                if (line.Contains("Server is ready", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
                else if (line.Contains("Route connection created", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref routes);
                }
                else if (line.Contains("[FTL]", StringComparison.Ordinal) || line.Contains("[ERR]", StringComparison.Ordinal))
                {
                    await Console.Error.WriteLineAsync(line);
                }
            }

            ready.TrySetException(new InvalidOperationException("nats-server exited before it was ready"));
        });
        _ = Task.Run(async () => await server.StandardOutput.ReadToEndAsync());
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(15));
        RoleIo.Send("ready", new JsonObject { ["endpoint"] = $"127.0.0.1:{port}", ["pid"] = pid });
        await server.WaitForExitAsync();
        throw new InvalidOperationException($"nats-server exited (code {server.ExitCode})");
    }
}
