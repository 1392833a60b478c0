using System.CommandLine;
using System.Runtime.InteropServices;
using NetMQ;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Thynapse.Core;
using Thynapse.Transmitter;

// Exit codes (README "Running a transmitter"): 0 stopped cleanly, 1 invalid arguments, 2 an endpoint could not
// be bound, 3 the transmitter failed.
var command = Flag("--command", "THYNAPSE_COMMAND", TransmitterOptions.Default.CommandEndpoint, "ROUTER endpoint cells connect to");
var events = Flag("--events", "THYNAPSE_EVENTS", TransmitterOptions.Default.EventsEndpoint, "PUB endpoint for events and peers");
var advertise = Flag<string?>("--advertise-host", "THYNAPSE_ADVERTISE_HOST", null, "host named in the addresses handed to cells when binding '*' (default: first non-loopback IPv4)");
var heartbeat = Flag("--heartbeat-ms", "THYNAPSE_HEARTBEAT_MS", (int)TransmitterOptions.Default.HeartbeatInterval.TotalMilliseconds, "how often cells must send something");
var liveness = Flag("--liveness-ms", "THYNAPSE_LIVENESS_MS", (int)TransmitterOptions.Default.LivenessTimeout.TotalMilliseconds, "silence after which a cell is dropped");
var maxFrame = Flag("--max-frame-bytes", "THYNAPSE_MAX_FRAME_BYTES", TransmitterOptions.Default.MaxFrameBytes, "largest frame accepted");
var prefetch = Flag("--prefetch", "THYNAPSE_PREFETCH", TransmitterOptions.Default.DefaultPrefetch, "unacknowledged deliveries per acknowledging subscription, unless it names its own");
var ackTimeout = Flag("--ack-timeout-ms", "THYNAPSE_ACK_TIMEOUT_MS", (int)TransmitterOptions.Default.DefaultAckTimeout.TotalMilliseconds, "time to acknowledge a delivery before it is redelivered, unless the subscription names its own");
var maxAttempts = Flag("--max-attempts", "THYNAPSE_MAX_ATTEMPTS", TransmitterOptions.Default.DefaultMaxAttempts, "deliveries of one event before it is dead-lettered, unless the subscription names its own");
var serviceQueue = Flag("--service-queue", "THYNAPSE_SERVICE_QUEUE", TransmitterOptions.Default.ServiceQueueLimit, "anycatch events a service may have waiting for a cell with room");
var fullQueueGrace = Flag<int?>("--full-queue-grace-ms", "THYNAPSE_FULL_QUEUE_GRACE_MS", null, $"how long a cell with a full queue may take nothing while input is held for it before its deliveries are dropped (0: drop at once; default: {(int)TransmitterOptions.DefaultFullQueueGrace.TotalMilliseconds}, or a quarter of the liveness timeout if shorter)");
var logLevel = Flag("--log-level", "THYNAPSE_LOG_LEVEL", LogEventLevel.Information, "Verbose, Debug, Information, Warning, Error or Fatal");
var logFormat = Flag("--log-format", "THYNAPSE_LOG_FORMAT", "text", "text, or json (one compact JSON object per line)");
logFormat.AcceptOnlyFromAmong("text", "json");

var root = new RootCommand("thynapse-transmitter: accepts Thynapse cells and routes their events.\n"
    + "Every flag can also be set with the environment variable named in its description.")
{
    command, events, advertise, heartbeat, liveness, maxFrame, prefetch, ackTimeout, maxAttempts, serviceQueue, fullQueueGrace, logLevel, logFormat,
};

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
    Transmitter transmitter;
    try
    {
        var options = TransmitterOptions.Default with
        {
            CommandEndpoint = parsed.GetValue(command)!,
            EventsEndpoint = parsed.GetValue(events)!,
            AdvertiseHost = parsed.GetValue(advertise),
            HeartbeatInterval = TimeSpan.FromMilliseconds(parsed.GetValue(heartbeat)),
            LivenessTimeout = TimeSpan.FromMilliseconds(parsed.GetValue(liveness)),
            MaxFrameBytes = parsed.GetValue(maxFrame),
            MaxHeaderBytes = Math.Min(TransmitterOptions.Default.MaxHeaderBytes, parsed.GetValue(maxFrame)),
            DefaultPrefetch = parsed.GetValue(prefetch),
            DefaultAckTimeout = TimeSpan.FromMilliseconds(parsed.GetValue(ackTimeout)),
            DefaultMaxAttempts = parsed.GetValue(maxAttempts),
            ServiceQueueLimit = parsed.GetValue(serviceQueue),
            Logger = Log.Logger,
        };
        if (parsed.GetValue(fullQueueGrace) is { } graceMs)
        {
            options = options with { FullQueueGrace = TimeSpan.FromMilliseconds(graceMs) };
        }

        transmitter = Transmitter.Start(options);
    }
    catch (NetMQException ex)
    {
        Log.Fatal("Could not bind {CommandEndpoint} / {EventsEndpoint}: {Reason}", parsed.GetValue(command), parsed.GetValue(events), ex.Message);
        await Log.CloseAndFlushAsync();
        return 2;
    }
    catch (ArgumentException ex)
    {
        Log.Fatal("Invalid setting: {Reason}", ex.Message);
        await Log.CloseAndFlushAsync();
        return 1;
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

return await root.Parse(args).InvokeAsync();

static Option<T> Flag<T>(string name, string environmentVariable, T defaultValue, string description) => new(name)
{
    Description = $"{description} [env: {environmentVariable}]",
    DefaultValueFactory = result =>
    {
        var text = Environment.GetEnvironmentVariable(environmentVariable);
        if (string.IsNullOrEmpty(text))
        {
            return defaultValue;
        }

        try
        {
            return typeof(T) == typeof(string) ? (T)(object)text
                : Nullable.GetUnderlyingType(typeof(T)) is { } underlying ? (T)Convert.ChangeType(text, underlying, System.Globalization.CultureInfo.InvariantCulture)
                : typeof(T).IsEnum ? (T)Enum.Parse(typeof(T), text, ignoreCase: true)
                : (T)Convert.ChangeType(text, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or ArgumentException or OverflowException)
        {
            result.AddError($"{environmentVariable}='{text}' is not a valid value for {name}");
            return defaultValue;
        }
    },
};
