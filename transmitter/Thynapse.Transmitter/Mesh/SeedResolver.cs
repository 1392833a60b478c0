using System.Net;
using System.Net.Sockets;
using NetMQ;
using Serilog;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Turns seeds into the endpoints to join (PROTOCOL.md §12.6): an address is one already; a name is resolved off the
/// routing thread (a slow DNS must not stall routing) and each of its addresses becomes a seed, the IPv4 ones when there
/// are any; a name that does not resolve is tried again, with backoff, forever. Results come back on the routing thread
/// (the poller is the continuation's scheduler). Routing thread only.
/// </summary>
internal sealed class SeedResolver(MeshOptions options, StallAwareClock clock, NetMQPoller poller, ILogger log, LogLimiter warnings,
    Action<string> resolved, Func<bool> disposed)
{
    private readonly List<Pending> _unresolved = [];

    /// <summary>A seed as given (<c>tcp://host:port</c>, already checked).</summary>
    public void Add(string seed) => Resolve(new Pending(seed, new Backoff(clock.TicksOf(options.RetryMin), clock.TicksOf(options.RetryMax), Random.Shared)));

    /// <summary>Resolves again the names whose pause is over.</summary>
    public void Tick()
    {
        if (_unresolved.Count == 0)
        {
            return;
        }

        var now = clock.Now;
        foreach (var seed in _unresolved.Where(s => now >= s.NextAt).ToList())
        {
            _unresolved.Remove(seed);
            Resolve(seed);
        }
    }

    /// <summary>
    /// The seeds a resolved name gives: one per address, the IPv4 ones when there are any (a name such as localhost often
    /// has both, for one transmitter), else the IPv6 ones.
    /// </summary>
    internal static List<string> SeedEndpoints(IReadOnlyList<IPAddress> addresses, string port)
    {
        var v4 = addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork).Distinct().ToList();
        var chosen = v4.Count > 0 ? v4 : [.. addresses.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6).Distinct()];
        return [.. chosen.Select(a => a.AddressFamily == AddressFamily.InterNetworkV6 ? $"tcp://[{a}]:{port}" : $"tcp://{a}:{port}")];
    }

    private void Resolve(Pending seed)
    {
        var rest = seed.Endpoint["tcp://".Length..];
        var colon = rest.LastIndexOf(':');
        var (host, port) = (rest[..colon], rest[(colon + 1)..]);
        if (IPAddress.TryParse(host.Trim('[', ']'), out _))
        {
            resolved(seed.Endpoint);
            return;
        }

        Dns.GetHostAddressesAsync(host).ContinueWith(t =>
        {
            try
            {
                OnResolved(seed, host, port, t);
            }
            catch (Exception ex)
            {
                log.Error(ex, "Failed at {Work}; the transmitter goes on", "resolving a seed");
            }
        }, CancellationToken.None, TaskContinuationOptions.None, poller);
    }

    private void OnResolved(Pending seed, string host, string port, Task<IPAddress[]> resolution)
    {
        if (disposed())
        {
            return;
        }

        var chosen = SeedEndpoints(resolution.IsCompletedSuccessfully ? resolution.Result : [], port);
        if (chosen.Count == 0)
        {
            var pause = seed.Backoff.Next();
            seed.NextAt = clock.Now + pause;
            _unresolved.Add(seed);
            if (warnings.Allow(WarningKind.PeerUnreachable))
            {
                log.Warning("Seed {Seed}: the host {Host} does not resolve ({Reason}); trying again in {Pause}", seed.Endpoint, host,
                    resolution.Exception?.GetBaseException().Message ?? "no address", clock.SpanOf(pause));
            }

            return;
        }

        foreach (var endpoint in chosen)
        {
            log.Information("Seed {Seed}: joining through {Endpoint}", seed.Endpoint, endpoint);
            resolved(endpoint);
        }
    }

    private sealed class Pending(string endpoint, Backoff backoff)
    {
        public string Endpoint { get; } = endpoint;

        public Backoff Backoff { get; } = backoff;

        public long NextAt { get; set; }
    }
}
