using System.Diagnostics;
using System.Globalization;

namespace Thynapse.ProcessKit;

/// <summary>
/// A private network of Linux network namespaces, for partition tests with real processes: each node is a namespace
/// whose <c>eth0</c> sits on one of two bridges ("sides") in a hub namespace, all in one subnet (10.77.0.0/24,
/// node <c>i</c> at 10.77.0.<c>i</c>); the bridges are joined by one veth pair, so <see cref="Partition"/> (that link
/// down) splits the nodes into the two sides at once and <see cref="Heal"/> (up again) joins them. Each node also has
/// a management link to the test's own namespace (its <c>eth1</c>, a /30 of 10.213.0.0/16) that a partition never
/// cuts, so the test's cells keep reaching every node while the nodes cannot reach each other across the cut.
/// </summary>
/// <remarks>
/// Needs root and <c>ip</c> (iproute2), as CI has; <see cref="Unavailable"/> says why not otherwise. Names carry this
/// process's id, so two test hosts never share a lab, and <see cref="Dispose"/> deletes every namespace it made
/// (deleting a namespace deletes its links, and with them their peers in the other namespaces); namespaces left by a
/// test host that was killed are deleted by the next lab once their process is gone.
/// </remarks>
public sealed class NetworkLab : IDisposable
{
    private const string Prefix = "thylab";
    private static int _labs;
    private static int _subnets;
    private readonly List<string> _namespaces = [];
    private readonly string _hub;

    private NetworkLab(string name, IReadOnlyList<int> sides)
    {
        _hub = $"{name}-hub";
        try
        {
            AddNamespace(_hub);
            Ip(_hub, "link", "add", "side0", "type", "bridge");
            Ip(_hub, "link", "add", "side1", "type", "bridge");
            Ip(_hub, "link", "add", "cut0", "type", "veth", "peer", "name", "cut1");
            Ip(_hub, "link", "set", "cut0", "master", "side0");
            Ip(_hub, "link", "set", "cut1", "master", "side1");
            foreach (var link in new[] { "side0", "side1", "cut0", "cut1" })
            {
                Ip(_hub, "link", "set", link, "up");
            }

            var nodes = new List<NetworkNode>();
            for (var side = 0; side < sides.Count; side++)
            {
                for (var k = 0; k < sides[side]; k++)
                {
                    nodes.Add(AddNode(name, nodes.Count + 1, side));
                }
            }

            Nodes = nodes;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The nodes, numbered from 1, the first side's first.</summary>
    public IReadOnlyList<NetworkNode> Nodes { get; }

    /// <summary>Whether the two sides are cut off from each other now.</summary>
    public bool IsPartitioned { get; private set; }

    /// <summary>Why a lab cannot be made on this machine (not root, no <c>ip</c>), or null when it can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces are Linux only";
        }

        if (Environment.UserName != "root")
        {
            return $"network namespaces need root (running as {Environment.UserName})";
        }

        try
        {
            return Run("ip", "netns", "list").Code == 0 ? null : "'ip netns list' failed (is iproute2 installed? apt-get install iproute2)";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "'ip' is not installed (apt-get install iproute2)";
        }
    }

    /// <summary>
    /// Makes a lab with two sides of <paramref name="firstSide"/> and <paramref name="secondSide"/> nodes, joined; throws
    /// with <see cref="Unavailable"/>'s reason when this machine cannot.
    /// </summary>
    public static NetworkLab Create(int firstSide, int secondSide)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(firstSide);
        ArgumentOutOfRangeException.ThrowIfNegative(secondSide);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstSide + secondSide, 200);
        if (Unavailable() is { } reason)
        {
            throw new InvalidOperationException($"Cannot make a network lab: {reason}.");
        }

        DeleteOrphans();
        var lab = Interlocked.Increment(ref _labs);
        return new NetworkLab($"{Prefix}{Environment.ProcessId}x{lab}", [firstSide, secondSide]);
    }

    /// <summary>Cuts the two sides off from each other (the link between their bridges goes down).</summary>
    public void Partition()
    {
        Ip(_hub, "link", "set", "cut0", "down");
        IsPartitioned = true;
    }

    /// <summary>Joins the two sides again.</summary>
    public void Heal()
    {
        Ip(_hub, "link", "set", "cut0", "up");
        IsPartitioned = false;
    }

    /// <summary>Starts a process inside <paramref name="node"/>'s namespace (<c>ip netns exec</c>, which becomes it: its PID is the process's).</summary>
    public static ChildProcess StartIn(NetworkNode node, ChildProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        return ChildProcess.Start(options with { FileName = "ip", Arguments = ["netns", "exec", node.Namespace, options.FileName, .. options.Arguments] });
    }

    public void Dispose()
    {
        // Nodes first, the hub last: deleting a node's namespace deletes its links and their peers in the hub and here.
        for (var i = _namespaces.Count - 1; i >= 0; i--)
        {
            Run("ip", "netns", "delete", _namespaces[i]);
        }

        _namespaces.Clear();
    }

    private NetworkNode AddNode(string name, int index, int side)
    {
        var ns = $"{name}-n{index}";
        AddNamespace(ns);
        Ip(ns, "link", "set", "lo", "up");

        // The mesh link: eth0 here, its peer on the side's bridge in the hub.
        Ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", $"n{index}", "netns", _hub);
        Ip(_hub, "link", "set", $"n{index}", "master", $"side{side}");
        Ip(_hub, "link", "set", $"n{index}", "up");
        var mesh = $"10.77.0.{index}";
        Ip(ns, "addr", "add", $"{mesh}/24", "dev", "eth0");
        Ip(ns, "link", "set", "eth0", "up");

        // The management link: eth1 here, its peer in this (the test's) namespace, a /30 of its own.
        var subnet = Interlocked.Increment(ref _subnets) * 4;
        var local = $"thy{Environment.ProcessId % 100000}m{subnet / 4}";
        Ip(ns, "link", "add", "eth1", "type", "veth", "peer", "name", local, "netns", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var ours = $"10.213.{subnet / 256 % 256}.{subnet % 256 + 1}";
        var theirs = $"10.213.{subnet / 256 % 256}.{subnet % 256 + 2}";
        Check(Run("ip", "addr", "add", $"{ours}/30", "dev", local), $"ip addr add {ours}/30 dev {local}");
        Check(Run("ip", "link", "set", local, "up"), $"ip link set {local} up");
        Ip(ns, "addr", "add", $"{theirs}/30", "dev", "eth1");
        Ip(ns, "link", "set", "eth1", "up");
        return new NetworkNode(index, side, ns, mesh, theirs);
    }

    private void AddNamespace(string ns)
    {
        Check(Run("ip", "netns", "add", ns), $"ip netns add {ns}");
        _namespaces.Add(ns);
    }

    /// <summary>Deletes the namespaces of labs whose test host is gone.</summary>
    private static void DeleteOrphans()
    {
        var (_, output) = Run("ip", "netns", "list");
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var ns = line.Split(' ')[0];
            if (!ns.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var digits = ns[Prefix.Length..].TakeWhile(char.IsAsciiDigit).ToArray();
            if (int.TryParse(digits, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                Run("ip", "netns", "delete", ns);
            }
        }
    }

    private static void Ip(string ns, params string[] args) => Check(Run("ip", ["-n", ns, .. args]), $"ip -n {ns} {string.Join(' ', args)}");

    private static void Check((int Code, string Output) result, string command)
    {
        if (result.Code != 0)
        {
            throw new InvalidOperationException($"'{command}' failed ({result.Code}): {result.Output.Trim()}");
        }
    }

    private static (int Code, string Output) Run(string fileName, params string[] args)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            return (-1, $"{fileName} {string.Join(' ', args)} did not finish within 10 s");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>A node of a <see cref="NetworkLab"/>: its namespace, its side, and its two addresses.</summary>
/// <param name="Index">From 1.</param>
/// <param name="Side">0 or 1.</param>
/// <param name="Namespace">The network namespace processes of this node run in.</param>
/// <param name="MeshAddress">Its address on the lab's network, which a partition cuts (10.77.0.<paramref name="Index"/>).</param>
/// <param name="ManagementAddress">Its address as the test's own namespace reaches it, which a partition never cuts.</param>
public sealed record NetworkNode(int Index, int Side, string Namespace, string MeshAddress, string ManagementAddress);
