using System.Globalization;

namespace Thynapse.ProcessKit;

/// <summary>
/// A CPU-starved group of processes, for soak tests of failure detection: a cgroup (v2 <c>cpu.max</c>, or v1
/// <c>cpu.cfs_quota_us</c>) that lets the processes added to it use at most a share of one CPU, in the kernel's
/// scheduling periods of 100 ms: past its quota in a period a process does not run until the next one, as on a host
/// whose CPU is oversubscribed. <see cref="AddBusyLoop"/> puts a process that only burns CPU in the group, so what the
/// others get is smaller still and uneven, as next to a noisy neighbour.
/// </summary>
/// <remarks>Needs root and a mounted cpu controller; <see cref="Unavailable"/> says why not otherwise. <see cref="Dispose"/> moves the processes back and removes the group.</remarks>
public sealed class CpuLimit : IDisposable
{
    private static int _groups;
    private readonly string _group;
    private readonly string _parent;
    private readonly List<ChildProcess> _busy = [];

    private CpuLimit(string parent, bool v2, double cpus)
    {
        _parent = parent;
        _group = Path.Combine(parent, $"thylimit{Environment.ProcessId}x{Interlocked.Increment(ref _groups)}");
        if (v2)
        {
            // A v2 child has a cpu.max only once its parent hands the controller down.
            File.WriteAllText(Path.Combine(parent, "cgroup.subtree_control"), "+cpu");
        }

        Directory.CreateDirectory(_group);
        var quota = ((int)(cpus * 100_000)).ToString(CultureInfo.InvariantCulture);
        if (v2)
        {
            File.WriteAllText(Path.Combine(_group, "cpu.max"), $"{quota} 100000");
        }
        else
        {
            File.WriteAllText(Path.Combine(_group, "cpu.cfs_period_us"), "100000");
            File.WriteAllText(Path.Combine(_group, "cpu.cfs_quota_us"), quota);
        }
    }

    /// <summary>Why no group can be made here, or null when it can.</summary>
    public static string? Unavailable() =>
        !OperatingSystem.IsLinux() ? "cgroups are Linux only"
        : Environment.UserName != "root" ? $"a CPU limit needs root (running as {Environment.UserName})"
        : Controller() is null ? "no cgroup cpu controller is mounted (/sys/fs/cgroup/cpu.max or /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
        : null;

    /// <summary>A group whose processes get at most <paramref name="cpus"/> of one CPU between them (0.25: a quarter).</summary>
    public static CpuLimit Create(double cpus)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cpus, 0.01);
        if (Unavailable() is { } reason)
        {
            throw new InvalidOperationException($"Cannot limit CPU: {reason}.");
        }

        var (parent, v2) = Controller()!.Value;
        return new CpuLimit(parent, v2, cpus);
    }

    /// <summary>Moves the process <paramref name="pid"/> (every thread of it) into the group.</summary>
    public void Add(int pid) => File.WriteAllText(Path.Combine(_group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>Starts a process that only burns CPU, in the group; it ends with the group.</summary>
    public void AddBusyLoop()
    {
        var loop = ChildProcess.Start("bash", "-c", "while :; do :; done");
        _busy.Add(loop);
        Add(loop.Id);
    }

    public void Dispose()
    {
        foreach (var loop in _busy)
        {
            loop.Dispose();
        }

        // A group can be removed only once it is empty: what is still in it (the limited processes, if alive) goes back.
        var procs = Path.Combine(_group, "cgroup.procs");
        if (File.Exists(procs))
        {
            foreach (var pid in File.ReadAllLines(procs))
            {
                try
                {
                    File.WriteAllText(Path.Combine(_parent, "cgroup.procs"), pid);
                }
                catch (IOException)
                {
                    // It ended meanwhile.
                }
            }
        }

        try
        {
            Directory.Delete(_group);
        }
        catch (IOException)
        {
            // A process still leaving; the kernel removes nothing by itself, but an empty group costs nothing.
        }
    }

    private static (string Parent, bool V2)? Controller() =>
        File.Exists("/sys/fs/cgroup/cgroup.controllers") && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Contains("cpu", StringComparison.Ordinal) ? ("/sys/fs/cgroup", true)
        : File.Exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") ? ("/sys/fs/cgroup/cpu", false)
        : null;
}
