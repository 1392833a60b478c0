using System.Runtime.InteropServices;

namespace Thynapse.Transmitter.Wire;

/// <summary>The process's limit on open file descriptors (each connection takes one), on Linux.</summary>
internal static partial class FileDescriptors
{
    private const int RlimitNofile = 7;

    /// <summary>Descriptors kept out of <see cref="DefaultMaxConnections"/> for everything else the process opens.</summary>
    internal const int Reserve = 256;

    /// <summary>The soft limit now (null where it cannot be read).</summary>
    public static long? SoftLimit => OperatingSystem.IsLinux() && GetRLimit(RlimitNofile, out var limit) == 0 ? (long)limit.Current : null;

    /// <summary>
    /// Raises the soft limit to the hard one (what an unprivileged process may do): a transmitter holds a descriptor per
    /// cell, and the usual soft limit of 1,024 is far below what one host serves. Returns the soft limit after.
    /// </summary>
    public static long? RaiseToHard()
    {
        if (!OperatingSystem.IsLinux() || GetRLimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            if (SetRLimit(RlimitNofile, in raised) == 0)
            {
                return (long)raised.Current;
            }
        }

        return (long)limit.Current;
    }

    /// <summary>Connections a transmitter accepts when not told otherwise: the descriptor limit less a reserve (at least 16).</summary>
    public static int DefaultMaxConnections => SoftLimit is { } soft ? (int)Math.Clamp(soft - Reserve, 16, 1_000_000) : 100_000;

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);
}
