// Micro-benchmarks of the hot paths, with allocations (BenchmarkDotNet's memory diagnoser).
//   dotnet run -c Release --project bench/Thynapse.Bench.Micro -- --filter '*'          (all; add --job short to hurry)
//   dotnet run -c Release --project bench/Thynapse.Bench.Micro -- --filter '*Routing*'
// Routing benchmarks report per event (OperationsPerInvoke = records per frame).
//   dotnet run -c Release --project bench/Thynapse.Bench.Micro -- --loop Targeted1000 20
// runs one routing case in a plain loop for that many seconds and prints ns and bytes allocated per event: a process to attach a profiler to
// (perf record -g with DOTNET_PerfMapEnabled=1), without BenchmarkDotNet's harness around it.
using System.Diagnostics;
using BenchmarkDotNet.Running;
using Thynapse.Bench.Micro;

if (args is ["--loop", var shape, var seconds])
{
    var routing = new RoutingBenchmarks { Case = Enum.Parse<RoutingBenchmarks.Shape>(shape) };
    routing.Setup();
    var end = TimeSpan.FromSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture));
    Run(TimeSpan.FromSeconds(1)); // tiered compilation settles first
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var allocated = GC.GetAllocatedBytesForCurrentThread();
    var (elapsed, frames) = Run(end);
    allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
    cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    var events = (double)frames * RoutingBenchmarks.Records;
    Console.WriteLine($"{shape}: {elapsed.TotalNanoseconds / events:0.0} ns per event ({cpu.TotalNanoseconds / events:0.0} ns of the process's CPU), {allocated / events:0.00} B allocated per event");

    (TimeSpan Elapsed, long Frames) Run(TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        long frames = 0;
        while (clock.Elapsed < duration)
        {
            for (var i = 0; i < 1000; i++)
            {
                routing.RouteFrame();
            }

            frames += 1000;
        }

        return (clock.Elapsed, frames);
    }

    return;
}

BenchmarkSwitcher.FromAssembly(typeof(CodecBenchmarks).Assembly).Run(args);
