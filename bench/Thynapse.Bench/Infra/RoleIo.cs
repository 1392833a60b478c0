using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Thynapse.Bench;

/// <summary>
/// A role's link to the orchestrator: JSON lines out on stdout, command lines in on stdin. When stdin closes
/// (the orchestrator is gone), the role exits at once, so no role outlives its orchestrator.
/// </summary>
internal static class RoleIo
{
    private static readonly Lock OutGate = new();
    private static readonly ConcurrentDictionary<string, Action> Handlers = new(StringComparer.Ordinal);
    private static readonly Channel<string> Commands = Channel.CreateUnbounded<string>();
    private static int _started;

    /// <summary>Actions to run on the way out when stdin closes (e.g. kill a child server).</summary>
    public static event Action? Exiting;

    public static void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        var reader = new Thread(() =>
        {
            string? line;
            while ((line = Console.In.ReadLine()) is not null)
            {
                line = line.Trim();
                if (line == "stop")
                {
                    break;
                }

                if (Handlers.TryGetValue(line, out var handler))
                {
                    try
                    {
                        handler();
                    }
                    catch (Exception ex)
                    {
                        Error(ex);
                    }
                }
                else
                {
                    Commands.Writer.TryWrite(line);
                }
            }

            Exiting?.Invoke();
            Environment.Exit(0);
        })
        {
            IsBackground = true,
            Name = "role-stdin",
        };
        reader.Start();
    }

    /// <summary>Answers <paramref name="command"/> on the stdin thread whenever it arrives.</summary>
    public static void On(string command, Action handler) => Handlers[command] = handler;

    /// <summary>Waits for <paramref name="command"/> (other unhandled commands are skipped).</summary>
    public static async Task WaitForAsync(string command)
    {
        while (await Commands.Reader.ReadAsync() != command)
        {
        }
    }

    public static void Send(string type, JsonObject? fields = null)
    {
        fields ??= [];
        fields["type"] = type;
        var text = fields.ToJsonString();
        lock (OutGate)
        {
            Console.Out.WriteLine(text);
            Console.Out.Flush();
        }
    }

    public static void Error(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        Send("error", new JsonObject { ["message"] = ex.GetType().Name + ": " + ex.Message });
        Console.Error.WriteLine(ex);
    }
}
