using System.Diagnostics;
using System.Globalization;

namespace Thynapse.Bench;

/// <summary>
/// CPU used by each process of a run between <see cref="Start"/> and the last <see cref="Mark"/>, from
/// <c>/proc/&lt;pid&gt;/stat</c> (utime + stime, in clock ticks of 1/100 s as on every mainstream Linux), shown as a
/// percentage of one core (200% = both cores of this machine).
/// </summary>
internal sealed class CpuMeter(IReadOnlyDictionary<string, int> pids)
{
    private const double TicksPerSecond = 100;

    private Dictionary<string, long> _start = [];
    private Dictionary<string, long> _last = [];
    private long _startTs;
    private long _lastTs;

    public void Start()
    {
        _start = Read();
        _startTs = Stopwatch.GetTimestamp();
        _last = _start;
        _lastTs = _startTs;
    }

    /// <summary>The measured window ends here (called while the run still makes progress).</summary>
    public void Mark()
    {
        _last = Read();
        _lastTs = Stopwatch.GetTimestamp();
    }

    /// <summary>e.g. <c>cpu 196%: server 88%, pub0 78%, recv0 30%; cpu time server 1.76 s, pub 1.56 s, recv 0.60 s in 2.00 s</c>.</summary>
    public string Summary()
    {
        var seconds = (_lastTs - _startTs) / (double)Stopwatch.Frequency;
        if (seconds <= 0.05)
        {
            return "cpu: window too short";
        }

        var usage = pids.Keys
            .Where(name => _start.ContainsKey(name) && _last.ContainsKey(name))
            .Select(name => (Name: name, Percent: (_last[name] - _start[name]) / TicksPerSecond / seconds * 100))
            .OrderByDescending(u => u.Percent)
            .ToList();
        var top = usage.Take(5).Select(u => $"{u.Name} {u.Percent:0}%");
        // CPU seconds per kind of role (cells0…cells7 together): comparable across runs whose windows differ, which
        // percentages are not when another load shares the machine.
        var bySeconds = usage.GroupBy(u => u.Name.TrimEnd("0123456789".ToCharArray()))
            .Select(g => $"{g.Key} {g.Sum(u => u.Percent) * seconds / 100:0.00} s");
        return $"cpu {usage.Sum(u => u.Percent):0}%: {string.Join(", ", top)}; cpu time {string.Join(", ", bySeconds)} in {seconds:0.00} s";
    }

    private Dictionary<string, long> Read()
    {
        var ticks = new Dictionary<string, long>();
        foreach (var (name, pid) in pids)
        {
            if (Ticks(pid) is { } t)
            {
                ticks[name] = t;
            }
        }

        return ticks;
    }

    private static long? Ticks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

            // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
