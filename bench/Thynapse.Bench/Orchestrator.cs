using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Thynapse.Bench.Scenarios;
using Thynapse.ProcessKit;

namespace Thynapse.Bench;

/// <summary>
/// Runs the scenarios interleaved — for each round, each scenario on Thynapse then on NATS — and prints one table.
/// Every process it starts is killed by PID when its run ends, and all of them if the orchestrator is stopped.
/// </summary>
internal static class Orchestrator
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var scenarios = Catalog.All(options.Quick);
        if (options.List)
        {
            foreach (var s in scenarios)
            {
                Console.WriteLine($"{s.Number,-4} {s.Id,-12} {s.Title}");
            }

            return 0;
        }

        var unknown = options.Only.Where(o => !scenarios.Any(s => s.Matches(o))).ToList();
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"unknown scenario(s): {string.Join(", ", unknown)} (see --list)");
            return 64;
        }

        var selected = options.Only.Count == 0 ? scenarios : scenarios.Where(s => options.Only.Any(s.Matches)).ToList();

        // However we end (Ctrl+C, SIGTERM, an exception), no child survives us.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();
        Console.CancelKeyPress += (_, _) => ChildProcess.KillAll();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => ChildProcess.KillAll());

        var nats = NatsServerLocator.Find();
        var ctx = new RunContext(options.Quick, nats);
        var results = selected.ToDictionary(s => s, _ => new Outcomes());
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"Thynapse vs NATS (and the raw-NetMQ transport limit) — {(options.Quick ? "quick" : "full")} run, {options.Rounds} round(s), "
            + $"{selected.Count} scenario(s), {Environment.ProcessorCount} cores; nats-server: {nats ?? "not available (NATS columns skipped)"}");

        try
        {
            for (var round = 1; round <= options.Rounds; round++)
            {
                foreach (var scenario in selected)
                {
                    var outcomes = results[scenario];
                    if (!scenario.Thynapse.IsNone)
                    {
                        outcomes.Thynapse.Add(await RunSideAsync(ctx, round, scenario, "Thynapse", scenario.Thynapse));
                    }

                    if (!scenario.Nats.IsNone)
                    {
                        var natsSide = nats is null && scenario.Nats.Run is not null ? Side.Na("n/a (nats-server not available)") : scenario.Nats;
                        outcomes.Nats.Add(await RunSideAsync(ctx, round, scenario, "NATS", natsSide));
                    }

                    if (!scenario.Reference.IsNone)
                    {
                        outcomes.NetMq.Add(await RunSideAsync(ctx, round, scenario, "NetMQ", scenario.Reference));
                    }
                }
            }
        }
        finally
        {
            ChildProcess.KillAll();
        }

        var report = Report.Build(selected, results);
        Console.WriteLine();
        Console.WriteLine(Report.Table(report, options, clock.Elapsed));
        if (options.Out is { } path)
        {
            await File.WriteAllTextAsync(path, Report.Json(report));
            Console.WriteLine($"wrote {path}");
        }

        var errors = report.Where(r => r.FirstOfScenario).Sum(r => r.Errors);
        var lossy = report.Where(r => r.FirstOfScenario && r.Scenario.PromisesDelivery && (r.ThynapseLost > 0 || r.NatsLost > 0)).ToList();
        foreach (var row in lossy)
        {
            Console.WriteLine($"LOSS: {row.Scenario.Number} {row.Scenario.Title}: Thynapse lost {row.ThynapseLost}, NATS lost {row.NatsLost} (over all rounds)");
        }

        return errors > 0 ? 2 : lossy.Count > 0 ? 1 : 0;
    }

    private static async Task<Outcome> RunSideAsync(RunContext ctx, int round, Scenario scenario, string side, Side run)
    {
        var label = $"[round {round}] {scenario.Number,-3} {scenario.Id,-12} {side,-8}";
        if (run.Run is null)
        {
            Console.WriteLine($"{label} {run.NotAvailable}");
            return Outcome.NotAvailable(run.NotAvailable ?? "n/a");
        }

        var clock = Stopwatch.StartNew();
        try
        {
            var result = await run.Run(ctx).WaitAsync(ctx.RunTimeout + ctx.ReadyTimeout);
            var values = string.Join(", ", scenario.Metrics.Select(m => $"{m.Name} {Report.Format(result.Values.GetValueOrDefault(m.Key), m.Unit)}"));
            var lost = result.Lost is { } l ? $", lost {l}" : "";
            Console.WriteLine($"{label} {values}{lost} ({clock.Elapsed.TotalSeconds:0.0} s){(string.IsNullOrEmpty(result.Note) ? "" : " — " + result.Note)}");
            return Outcome.Of(result);
        }
        catch (Exception ex)
        {
            Console.WriteLine($"{label} FAILED after {clock.Elapsed.TotalSeconds:0.0} s: {ex.GetType().Name}: {ex.Message}");
            return Outcome.Failed(ex.Message);
        }
    }
}

/// <summary>Every round's outcome of each side of one scenario.</summary>
internal sealed class Outcomes
{
    public List<Outcome> Thynapse { get; } = [];

    public List<Outcome> Nats { get; } = [];

    public List<Outcome> NetMq { get; } = [];
}

/// <summary>One side of one scenario in one round.</summary>
internal sealed record Outcome(RunResult? Result, string? NotAvailableReason, string? Error)
{
    public static Outcome Of(RunResult result) => new(result, null, null);

    public static Outcome NotAvailable(string reason) => new(null, reason, null);

    public static Outcome Failed(string error) => new(null, null, error);
}

/// <summary>Where nats-server is, installing the Debian package if it is missing and we may.</summary>
internal static class NatsServerLocator
{
    public static string? Find()
    {
        var found = Search();
        if (found is not null)
        {
            return found;
        }

        Console.WriteLine("nats-server not found; trying: apt-get install -y nats-server");
        if (Try("apt-get", "install -y nats-server") || (Try("apt-get", "update") && Try("apt-get", "install -y nats-server")))
        {
            found = Search();
        }

        if (found is null)
        {
            Console.WriteLine("nats-server is not installed and could not be installed: the NATS columns are skipped.");
        }

        return found;
    }

    private static string? Search()
    {
        if (File.Exists("/usr/sbin/nats-server"))
        {
            return "/usr/sbin/nats-server";
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "nats-server"))
            .FirstOrDefault(File.Exists);
    }

    private static bool Try(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true });
            if (process is null)
            {
                return false;
            }

            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill();
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
