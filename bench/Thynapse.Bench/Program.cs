using Thynapse.Bench;
using Thynapse.Bench.Roles;

// One executable, two faces: without --role it is the orchestrator (parses the bench options, runs every
// scenario, prints the table); with --role it is one of the processes the orchestrator launched.
if (args.Length >= 2 && args[0] == "--role")
{
    return await RoleHost.RunAsync(args[1], RoleArgs.Parse(args.AsSpan(2)));
}

var options = BenchOptions.Parse(args, out var error);
if (options is null)
{
    await Console.Error.WriteLineAsync(error);
    await Console.Error.WriteLineAsync(BenchOptions.Usage);
    return 64;
}

if (options.Curve)
{
    // The roles are child processes: they inherit the key pair from the environment (servers the secret key, cells the
    // public one), as a deployment hands them out with --curve-key-file and CellOptions.TransmitterPublicKey.
    var pair = new NetMQ.NetMQCertificate();
    Environment.SetEnvironmentVariable(ServerRoles.CurveSecretVariable, pair.SecretKeyZ85);
    Environment.SetEnvironmentVariable(ServerRoles.CurvePublicVariable, pair.PublicKeyZ85);
    Console.WriteLine("CURVE on: Thynapse's transmitters require it and its cells use it (NATS runs as always).");
}

return await Orchestrator.RunAsync(options);
