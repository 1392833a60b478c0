using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using NetMQ;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Thynapse.Core;
using Thynapse.Transmitter;
using Thynapse.Transmitter.Host.Cli;

// Exit codes (README "Running a transmitter"): 0 stopped cleanly, 1 invalid arguments, 2 an endpoint could not
// be bound, 3 the transmitter failed.
var flags = new FlagSet();
var defaults = TransmitterOptions.Default;
var command = flags.Add("--command", "THYNAPSE_COMMAND", nameof(defaults.CommandEndpoint), defaults.CommandEndpoint, "ROUTER endpoint cells connect to");
var events = flags.Add("--events", "THYNAPSE_EVENTS", nameof(defaults.EventsEndpoint), defaults.EventsEndpoint, "PUB endpoint for events and peers");
var advertise = flags.Add<string?>("--advertise-host", "THYNAPSE_ADVERTISE_HOST", nameof(defaults.AdvertiseHost), null, "host named in the addresses handed to cells when binding '*' (default: first non-loopback IPv4)");
var heartbeat = flags.Add("--heartbeat-ms", "THYNAPSE_HEARTBEAT_MS", nameof(defaults.HeartbeatInterval), (int)defaults.HeartbeatInterval.TotalMilliseconds, "how often cells must send something");
var liveness = flags.Add("--liveness-ms", "THYNAPSE_LIVENESS_MS", nameof(defaults.LivenessTimeout), (int)defaults.LivenessTimeout.TotalMilliseconds, "silence after which a cell is dropped");
var maxFrame = flags.Add("--max-frame-bytes", "THYNAPSE_MAX_FRAME_BYTES", nameof(defaults.MaxFrameBytes), defaults.MaxFrameBytes, "largest frame accepted");
var maxHeader = flags.Add<int?>("--max-header-bytes", "THYNAPSE_MAX_HEADER_BYTES", nameof(defaults.MaxHeaderBytes), null, $"largest J header frame accepted (default: {defaults.MaxHeaderBytes}, or --max-frame-bytes if smaller)");
var maxSubscriptions = flags.Add("--max-subscriptions", "THYNAPSE_MAX_SUBSCRIPTIONS", nameof(defaults.MaxSubscriptionsPerCell), defaults.MaxSubscriptionsPerCell, "subscriptions one cell may hold");
var maxMetadata = flags.Add("--max-metadata-bytes", "THYNAPSE_MAX_METADATA_BYTES", nameof(defaults.MaxMetadataBytes), defaults.MaxMetadataBytes, "largest metadata a cell may hold, as compact JSON");
var maxCells = flags.Add("--max-cells", "THYNAPSE_MAX_CELLS", nameof(defaults.MaxCells), defaults.MaxCells, "cells with a session at once; more are refused with TOO_MANY_CELLS");
var maxQueryDepth = flags.Add("--max-query-depth", "THYNAPSE_MAX_QUERY_DEPTH", null, defaults.QueryLimits.MaxDepth, "deepest nesting of a metadata query (QUERY_TOO_DEEP past it)");
var maxQueryNodes = flags.Add("--max-query-nodes", "THYNAPSE_MAX_QUERY_NODES", null, defaults.QueryLimits.MaxNodes, "clauses and values in one metadata query (QUERY_TOO_LARGE past it)");
var prefetch = flags.Add("--prefetch", "THYNAPSE_PREFETCH", nameof(defaults.DefaultPrefetch), defaults.DefaultPrefetch, "unacknowledged deliveries per acknowledging subscription, unless it names its own");
var ackTimeout = flags.Add("--ack-timeout-ms", "THYNAPSE_ACK_TIMEOUT_MS", nameof(defaults.DefaultAckTimeout), (int)defaults.DefaultAckTimeout.TotalMilliseconds, "time to acknowledge a delivery before it is redelivered, unless the subscription names its own");
var maxAttempts = flags.Add("--max-attempts", "THYNAPSE_MAX_ATTEMPTS", nameof(defaults.DefaultMaxAttempts), defaults.DefaultMaxAttempts, "deliveries of one event before it is dead-lettered, unless the subscription names its own");
var serviceQueue = flags.Add("--service-queue", "THYNAPSE_SERVICE_QUEUE", nameof(defaults.ServiceQueueLimit), defaults.ServiceQueueLimit, "anycatch events a service may have waiting for a cell with room");
var fullQueueGrace = flags.Add<int?>("--full-queue-grace-ms", "THYNAPSE_FULL_QUEUE_GRACE_MS", nameof(defaults.FullQueueGrace), null, $"how long a cell with a full queue may take nothing from its backlog before it is judged slow and the backlog dropped (0: drop at once; default: {(int)TransmitterOptions.DefaultFullQueueGrace.TotalMilliseconds}, or a quarter of the liveness timeout if shorter)");
var maxConnections = flags.Add<int?>("--max-connections", "THYNAPSE_MAX_CONNECTIONS", nameof(defaults.MaxConnections), null, "connections accepted at once; more are refused (default: the file descriptor limit, raised to its hard limit at start, less 256)");
var maxConnectionsPerAddress = flags.Add("--max-connections-per-address", "THYNAPSE_MAX_CONNECTIONS_PER_ADDRESS", nameof(defaults.MaxConnectionsPerAddress), defaults.MaxConnectionsPerAddress, "connections accepted at once from one source address; more from it are closed at once, before any handshake");
var maxPublishRate = flags.Add("--max-publish-rate", "THYNAPSE_MAX_PUBLISH_RATE", nameof(defaults.MaxPublishRate), defaults.MaxPublishRate, "events one cell may publish a second; past it its events are refused with RATE_LIMITED (0: no limit)");
var handshakeTimeout = flags.Add("--handshake-timeout-ms", "THYNAPSE_HANDSHAKE_TIMEOUT_MS", nameof(defaults.HandshakeTimeout), (int)defaults.HandshakeTimeout.TotalMilliseconds, "a connection without a session is closed this long after connecting if it sent no more than a ZeroMQ handshake (Linux), or this long after its first frame if none of its frames was a valid HELO (0: never)");
var idReservation = flags.Add("--id-reservation-ms", "THYNAPSE_ID_RESERVATION_MS", nameof(defaults.IdReservation), (int)defaults.IdReservation.TotalMilliseconds, "how long after a cell's session ends without a goodbye its THID can be claimed only with its resume token (0: not reserved)");
var maxFailedAttempts = flags.Add("--max-failed-attempts", "THYNAPSE_MAX_FAILED_ATTEMPTS", nameof(defaults.MaxFailedAttempts), defaults.MaxFailedAttempts, "failed HELOs (wrong secret, a THID claimed without its token) from one address before it is refused for --failed-attempt-block-ms; after 5, each failure makes the address wait longer");
var failedAttemptBlock = flags.Add("--failed-attempt-block-ms", "THYNAPSE_FAILED_ATTEMPT_BLOCK_MS", nameof(defaults.FailedAttemptBlock), (int)defaults.FailedAttemptBlock.TotalMilliseconds, "how long an address past --max-failed-attempts is refused");
var id = flags.Add<string?>("--id", "THYNAPSE_ID", nameof(defaults.Id), null, "the transmitter's THID, 40 hexadecimal characters: keep it across restarts to be known as the same transmitter (default: a new random one)");
var peers = flags.AddList("--peer", "THYNAPSE_PEERS", nameof(defaults.Peers), "command endpoint of another transmitter to join the mesh through (repeatable; a host name with several addresses gives one seed per address)");
var readinessTimeout = flags.Add("--readiness-timeout-ms", "THYNAPSE_READINESS_TIMEOUT_MS", null, (int)defaults.Mesh.ReadinessTimeout.TotalMilliseconds, "with --peer: cells are refused (NOT_READY) until the transmitter holds its mesh's cell directory, or at most this long after it started (0: no gate)");
var secret = flags.Add<string?>("--secret", "THYNAPSE_SECRET", nameof(defaults.Secret), null, "the secret cells must present in HELO to join, at least 16 characters (prefer --secret-file: a flag shows in the process list)");
var secretFile = flags.Add<string?>("--secret-file", "THYNAPSE_SECRET_FILE", null, null, "a file holding the secret cells must present (its trailing newline ignored); instead of --secret");
var clusterSecret = flags.Add<string?>("--cluster-secret", "THYNAPSE_CLUSTER_SECRET", null, null, "the secret the transmitters of a mesh share, distinct from --secret, at least 16 characters: a peer must prove it (never sent) to join, and the event socket then needs it to be read (default: none, any transmitter may join and anyone reaching the event socket may read the mesh; prefer --cluster-secret-file)");
var clusterSecretFile = flags.Add<string?>("--cluster-secret-file", "THYNAPSE_CLUSTER_SECRET_FILE", null, null, "a file holding the cluster secret (its trailing newline ignored); instead of --cluster-secret");
var credentialsFile = flags.Add<string?>("--credentials-file", "THYNAPSE_CREDENTIALS_FILE", nameof(defaults.Credentials), null, "a file of per-service credentials, one 'service[,service...] secret' per line: a cell with that secret may join only as those services");
var curveKeyFile = flags.Add<string?>("--curve-key-file", "THYNAPSE_CURVE_KEY_FILE", nameof(defaults.CurveSecretKey), null, "the CURVE secret key file 'keygen' wrote: both sockets then require CURVE, and cells need the public key (the .pub file); with --cluster-secret the event socket uses a key pair derived from that secret instead");
var allowedKeysFile = flags.Add<string?>("--allowed-keys-file", "THYNAPSE_ALLOWED_KEYS_FILE", nameof(defaults.AllowedCellKeys), null, "with --curve-key-file: a file of the cells' CURVE public keys allowed to join, Z85, one a line ('#' comments); a cell must prove it holds one (CellOptions.CurvePublicKey and CurveSecretKey) or is refused with KEY_NOT_ALLOWED (default: any cell with the public key)");
var logLevel = flags.Add("--log-level", "THYNAPSE_LOG_LEVEL", null, LogEventLevel.Information, "Verbose, Debug, Information, Warning, Error or Fatal");
var logFormat = flags.Add("--log-format", "THYNAPSE_LOG_FORMAT", null, "text", "text, or json (one compact JSON object per line)", "text", "json");

var root = new RootCommand("thynapse-transmitter: accepts Thynapse cells and routes their events.\n"
    + "Every flag can also be set with the environment variable named in its description.");
foreach (var option in flags.Options)
{
    root.Options.Add(option);
}

var keygenPath = new Argument<string>("path") { Description = "where the secret key goes (mode 0600); the public key goes to path.pub" };
var keygen = new System.CommandLine.Command("keygen", "writes a CURVE key pair, Z85: the secret key for --curve-key-file, the public key for cells (CellOptions.TransmitterPublicKey)");
keygen.Arguments.Add(keygenPath);
keygen.SetAction(parsed => KeyFiles.Generate(parsed.GetValue(keygenPath)!, Console.Out, Console.Error));
root.Subcommands.Add(keygen);

root.SetAction(async (parsed, cancellationToken) =>
{
    var loggerConfiguration = new LoggerConfiguration()
        .MinimumLevel.Is(parsed.GetValue(logLevel))
        .Enrich.WithProperty("Component", "transmitter");
    Log.Logger = parsed.GetValue(logFormat) == "json"
        ? loggerConfiguration.WriteTo.Console(new CompactJsonFormatter()).CreateLogger()
        : loggerConfiguration.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}").CreateLogger();

    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // we shut down ourselves, cleanly
        Log.Information("Received {Signal}; shutting down", context.Signal);
        stop.Cancel();
    }

    var options = defaults with
    {
        CommandEndpoint = parsed.GetValue(command)!,
        EventsEndpoint = parsed.GetValue(events)!,
        AdvertiseHost = parsed.GetValue(advertise),
        HeartbeatInterval = TimeSpan.FromMilliseconds(parsed.GetValue(heartbeat)),
        LivenessTimeout = TimeSpan.FromMilliseconds(parsed.GetValue(liveness)),
        MaxFrameBytes = parsed.GetValue(maxFrame),
        MaxHeaderBytes = parsed.GetValue(maxHeader) ?? Math.Min(defaults.MaxHeaderBytes, parsed.GetValue(maxFrame)),
        MaxSubscriptionsPerCell = parsed.GetValue(maxSubscriptions),
        MaxMetadataBytes = parsed.GetValue(maxMetadata),
        MaxCells = parsed.GetValue(maxCells),
        QueryLimits = defaults.QueryLimits with { MaxDepth = parsed.GetValue(maxQueryDepth), MaxNodes = parsed.GetValue(maxQueryNodes) },
        DefaultPrefetch = parsed.GetValue(prefetch),
        DefaultAckTimeout = TimeSpan.FromMilliseconds(parsed.GetValue(ackTimeout)),
        DefaultMaxAttempts = parsed.GetValue(maxAttempts),
        ServiceQueueLimit = parsed.GetValue(serviceQueue),
        MaxConnectionsPerAddress = parsed.GetValue(maxConnectionsPerAddress),
        MaxPublishRate = parsed.GetValue(maxPublishRate),
        HandshakeTimeout = TimeSpan.FromMilliseconds(parsed.GetValue(handshakeTimeout)),
        IdReservation = TimeSpan.FromMilliseconds(parsed.GetValue(idReservation)),
        MaxFailedAttempts = parsed.GetValue(maxFailedAttempts),
        FailedAttemptBlock = TimeSpan.FromMilliseconds(parsed.GetValue(failedAttemptBlock)),
        Peers = parsed.GetValue(peers) ?? [],
        Mesh = defaults.Mesh with { ReadinessTimeout = TimeSpan.FromMilliseconds(parsed.GetValue(readinessTimeout)) },
        Logger = Log.Logger,
    };
    if (parsed.GetValue(id) is { } idText)
    {
        if (!Thid.TryParse(idText, out var thid))
        {
            Log.Fatal("Invalid setting: {Reason}", $"{flags.Names.Subject(nameof(defaults.Id))} must be a THID, 40 hexadecimal characters; got '{idText}'.");
            await Log.CloseAndFlushAsync();
            return 1;
        }

        options = options with { Id = thid };
    }

    if (ReadSecrets(parsed, options) is not { } secured)
    {
        await Log.CloseAndFlushAsync();
        return 1;
    }

    options = secured;
    if (parsed.GetValue(maxConnections) is { } connections)
    {
        options = options with { MaxConnections = connections };
    }
    if (parsed.GetValue(fullQueueGrace) is { } graceMs)
    {
        options = options with { FullQueueGrace = TimeSpan.FromMilliseconds(graceMs) };
    }

    // The options' own rules, worded with the flags (TransmitterOptions.Validate words them with its properties).
    if (options.FindProblem(flags.Names) is { } problem)
    {
        Log.Fatal("Invalid setting: {Reason}", problem.Message);
        await Log.CloseAndFlushAsync();
        return 1;
    }

    // THYNAPSE_EXIT_WITH_STDIN=1: shut down when standard input reaches its end. For test harnesses (TestKit's
    // TransmitterProcess sets it): a parent that dies, even by SIGKILL, closes the pipe to our stdin, so no test run
    // leaves a transmitter behind holding its ports. Not a flag: a transmitter run by hand or by a service manager
    // often has no stdin at all, and would stop at once.
    if (Environment.GetEnvironmentVariable("THYNAPSE_EXIT_WITH_STDIN") == "1")
    {
        new Thread(() =>
        {
            using var input = Console.OpenStandardInput();
            var buffer = new byte[256];
            while (input.Read(buffer) > 0)
            {
            }

            Log.Information("Standard input closed (THYNAPSE_EXIT_WITH_STDIN); shutting down");
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already stopped.
            }
        })
        { IsBackground = true, Name = "stdin watch" }.Start();
    }

    PooledBufferPool.Install();

    // Each connection takes a file descriptor: take what the hard limit allows before anyone connects (issue 15,
    // finding 12), so that the connection limit derived from it is as high as the host permits.
    if (Thynapse.Transmitter.Wire.FileDescriptors.RaiseToHard() is { } descriptors)
    {
        Log.Information("File descriptor limit {Limit}: accepting up to {MaxConnections} connections", descriptors, options.MaxConnections);
    }

    Transmitter transmitter;
    try
    {
        transmitter = Transmitter.Start(options);
    }
    catch (TransmitterBindException ex)
    {
        Log.Fatal("{Reason}", ex.Describe(flags.Names));
        await Log.CloseAndFlushAsync();
        return 2;
    }

    try
    {
        await Task.WhenAny(Task.Delay(Timeout.Infinite, stop.Token), transmitter.Completion).ContinueWith(_ => { }, TaskScheduler.Default);
        await transmitter.StopAsync();
        return 0;
    }
    catch (Exception ex)
    {
        Log.Fatal(ex, "The transmitter failed");
        return 3;
    }
    finally
    {
        NetMQConfig.Cleanup(block: false);
        await Log.CloseAndFlushAsync();
    }
});

// A secret given as a flag or in a file (not both); false (logged) when it cannot be used.
bool ReadSecret(ParseResult parsed, Option<string?> flag, Option<string?> fileFlag, string env, out string? given)
{
    given = parsed.GetValue(flag);
    if (parsed.GetValue(fileFlag) is not { } path)
    {
        return true;
    }

    if (given is not null)
    {
        Log.Fatal("Invalid setting: {Reason}", $"{flag.Name} [env: {env}] and {fileFlag.Name} [env: {env}_FILE] are both set; give the secret one way.");
        return false;
    }

    given = SecretFiles.ReadSecret(path, $"{fileFlag.Name} [env: {env}_FILE]", out var error);
    if (given is null)
    {
        Log.Fatal("Invalid setting: {Reason}", error);
        return false;
    }

    WarnIfReadable(path, fileFlag.Name);
    return true;
}

// --secret, --cluster-secret (and their files), --curve-key-file and --credentials-file into the options; null (logged)
// when they cannot be used.
TransmitterOptions? ReadSecrets(ParseResult parsed, TransmitterOptions options)
{
    if (!ReadSecret(parsed, secret, secretFile, "THYNAPSE_SECRET", out var given) || !ReadSecret(parsed, clusterSecret, clusterSecretFile, "THYNAPSE_CLUSTER_SECRET", out var cluster))
    {
        return null;
    }

    if (TransmitterOptions.SecretProblem(cluster, "--cluster-secret [env: THYNAPSE_CLUSTER_SECRET]") is { } clusterProblem)
    {
        Log.Fatal("Invalid setting: {Reason}", clusterProblem);
        return null;
    }

    if (cluster is not null && cluster == given)
    {
        Log.Fatal("Invalid setting: {Reason}", "--cluster-secret is the cells' --secret: give the mesh its own secret, or any cell could join the mesh as a transmitter.");
        return null;
    }

    options = options with { Secret = given, Mesh = options.Mesh with { ClusterSecret = cluster } };
    if (cluster is not null)
    {
        Log.Information("Peers must prove the cluster secret to join the mesh; the event socket is CURVE with the key derived from it");
    }
    else if (options.Peers.Count > 0)
    {
        Log.Warning("No cluster secret (--cluster-secret): any process that reaches the command socket can join the mesh, and any that reaches the event socket can read it");
    }

    if (parsed.GetValue(curveKeyFile) is { } keyPath)
    {
        var key = KeyFiles.ReadSecretKey(keyPath, "--curve-key-file [env: THYNAPSE_CURVE_KEY_FILE]", out var error);
        if (key is null)
        {
            Log.Fatal("Invalid setting: {Reason}", error);
            return null;
        }

        WarnIfReadable(keyPath, "--curve-key-file");
        options = options with { CurveSecretKey = key };
        Log.Information(cluster is null ? "CURVE required on both sockets; public key {PublicKey}" : "CURVE required on the command socket, public key {PublicKey}; the event socket's key pair is derived from the cluster secret",
            NetMQCertificate.CreateFromSecretKey(key).PublicKeyZ85);
    }

    if (parsed.GetValue(allowedKeysFile) is { } allowedPath)
    {
        var keys = KeyFiles.ReadPublicKeys(allowedPath, "--allowed-keys-file [env: THYNAPSE_ALLOWED_KEYS_FILE]", out var error);
        if (keys is null)
        {
            Log.Fatal("Invalid setting: {Reason}", error);
            return null;
        }

        options = options with { AllowedCellKeys = keys }; // without --curve-key-file, FindProblem below names both flags
        Log.Information("Cells must prove one of {Count} allowed CURVE keys to join", keys.Count);
    }

    if (parsed.GetValue(credentialsFile) is { } credentialsPath)
    {
        var credentials = SecretFiles.ReadCredentials(credentialsPath, "--credentials-file [env: THYNAPSE_CREDENTIALS_FILE]", out var error);
        if (credentials is null)
        {
            Log.Fatal("Invalid setting: {Reason}", error);
            return null;
        }

        WarnIfReadable(credentialsPath, "--credentials-file");
        options = options with { Credentials = credentials };
    }

    if (options.Secret is not null || options.Credentials.Count > 0)
    {
        Log.Information("Cells must present a secret to join ({Credentials} per-service credentials)", options.Credentials.Count);
    }

    return options;
}

static void WarnIfReadable(string path, string flag)
{
    if (SecretFiles.ReadableByOthers(path))
    {
        Log.Warning("The file of {Flag}, {Path}, is readable by other users; restrict it with chmod 600", flag, path);
    }
}

var parseResult = root.Parse(args);
if (parseResult.Action is ParseErrorAction)
{
    // Two lines naming what is wrong, instead of System.CommandLine's error followed by the whole help.
    await Console.Error.WriteLineAsync(flags.DescribeErrors(parseResult));
    return 1;
}

return await parseResult.InvokeAsync();
