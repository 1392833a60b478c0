using System.Collections;
using System.Reflection;
using NetMQ;

namespace Thynapse.Transmitter.Wire;

/// <summary>
/// Frees what NetMQ's ROUTER keeps of connections that ended before their ZeroMQ identity was read (issue 18, item 8:
/// a storm of short connections took the transmitter from 60 to 757 MiB and it stayed there).
/// </summary>
/// <remarks>
/// <para>
/// Measured (<c>dotnet-gcdump</c> after a 30 s junk flood): 7,950 <c>SessionBase</c> objects and 15,910 pipes were still
/// live for connections long closed, 160 MiB of them in the pipes' message chunks (two 256-slot chunks, about 20 KiB, per
/// connection). Every one was in the ROUTER's set of anonymous pipes (<c>Router.m_anonymousPipes</c>: attached before
/// the peer's identity arrived) in the state <c>Pending</c>: its session had terminated it, and it waits for the ROUTER
/// to read it up to the delimiter before it acknowledges. NetMQ 4.0.4.5 reads an anonymous pipe only when the pipe tells
/// it it became readable, and for these that notice had come (or been consumed) before the termination: nobody reads
/// them again, so the pipe, its peer, the session and their buffers stay until the socket closes. About half the
/// connections of a HELO storm (each connects, sends one frame and closes at once) ended that way, more while the
/// routing thread was busy.
/// </para>
/// <para>
/// The sweep does what the missing notice would have done: on the routing thread (the ROUTER's own), for each anonymous
/// pipe that is <c>Pending</c>, it calls the ROUTER's <c>XReadActivated</c>, which reads the pipe, finds the delimiter
/// and completes the termination; NetMQ then frees the pipe pair and the session as for any disconnect. A pipe whose
/// identity is there after all is attached as usual. Reached by reflection, as <see cref="PeerAddresses"/> is; checked
/// against NetMQ 4.0.4.5 by <c>DeadPipeSweeperTests</c>. Where a member is missing (another NetMQ), it does nothing.
/// </para>
/// </remarks>
internal sealed class DeadPipeSweeper
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
    private static readonly Assembly NetMq = typeof(NetMQSocket).Assembly;
    private static readonly Type? RouterType = NetMq.GetType("NetMQ.Core.Patterns.Router");
    private static readonly FieldInfo? AnonymousPipes = RouterType?.GetField("m_anonymousPipes", Instance);
    private static readonly MethodInfo? ReadActivated = RouterType?.GetMethod("XReadActivated", Instance);
    private static readonly FieldInfo? PipeState = NetMq.GetType("NetMQ.Core.Pipe")?.GetField("m_state", Instance);
    private static readonly object? Pending = PipeState is { FieldType.IsEnum: true } ? Enum.Parse(PipeState.FieldType, "Pending") : null;
    private static readonly PropertyInfo? SocketHandle = typeof(NetMQSocket).GetProperty("SocketHandle", Instance);

    private readonly object? _handle;
    private readonly IEnumerable? _anonymous;
    private readonly List<object> _dead = [];

    /// <param name="router">The command socket.</param>
    public DeadPipeSweeper(NetMQSocket router)
    {
        try
        {
            _handle = SocketHandle?.GetValue(router);
            _anonymous = _handle is not null && RouterType?.IsInstanceOfType(_handle) == true ? AnonymousPipes?.GetValue(_handle) as IEnumerable : null;
        }
        catch (Exception ex) when (ex is TargetException or ArgumentException or MemberAccessException)
        {
            _anonymous = null;
        }
    }

    /// <summary>True when the sweep can run at all (the NetMQ internals are as expected).</summary>
    public bool Available => _anonymous is not null && ReadActivated is not null && PipeState is not null && Pending is not null;

    /// <summary>Pipes of connections that ended before their identity was read, freed since the start.</summary>
    public long Swept { get; private set; }

    /// <summary>Completes the termination of the dead anonymous pipes; on the routing thread. Returns how many.</summary>
    public int Sweep()
    {
        if (!Available)
        {
            return 0;
        }

        _dead.Clear();
        foreach (var pipe in _anonymous!)
        {
            if (Equals(PipeState!.GetValue(pipe), Pending))
            {
                _dead.Add(pipe);
            }
        }

        foreach (var pipe in _dead)
        {
            ReadActivated!.Invoke(_handle, [pipe]);
        }

        Swept += _dead.Count;
        var swept = _dead.Count;
        _dead.Clear();
        return swept;
    }
}
