// Micro-benchmarks of the hot paths, with allocations (BenchmarkDotNet's memory diagnoser).
//   dotnet run -c Release --project bench/Thynapse.Bench.Micro -- --filter '*'          (all; add --job short to hurry)
//   dotnet run -c Release --project bench/Thynapse.Bench.Micro -- --filter '*Routing*'
// Routing benchmarks report per event (OperationsPerInvoke = records per frame).
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Thynapse.Bench.Micro.CodecBenchmarks).Assembly).Run(args);
