using System.Text;
using Thynapse.TestKit;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>Three in-process transmitters on loopback, joined through A and settled (the cluster routing tests).</summary>
internal sealed class Mesh3 : IAsyncDisposable
{
    public required Transmitter A { get; init; }

    public required Transmitter B { get; init; }

    public required Transmitter C { get; init; }

    public static async Task<Mesh3> StartAsync(CancellationToken ct, Func<TransmitterOptions, TransmitterOptions>? tune = null)
    {
        tune ??= o => o;
        var a = Transmitters.StartLoopback(tune);
        var b = Transmitters.StartLoopback(o => tune(o) with { Peers = [a.CommandEndpoint] });
        var c = Transmitters.StartLoopback(o => tune(o) with { Peers = [a.CommandEndpoint] });
        var mesh = new Mesh3 { A = a, B = b, C = c };
        await Eventually.That("the mesh has settled", () => Settled(a, b, c), TimeSpan.FromSeconds(10), ct);
        return mesh;
    }

    public Transmitter[] All => [A, B, C];

    /// <summary>A's route table holds the cells of B and C that catch the channel.</summary>
    public Task InterestReachedAsync(string channel, int remoteCells, CancellationToken ct) =>
        Eventually.That($"a knows {remoteCells} remote cells catch {channel}", async () =>
            await A.InvokeAsync(p => p.Routes.Find(Encoding.ASCII.GetBytes(channel), out _)!.RemoteMulticatch.Length) == remoteCells, cancellationToken: ct);

    /// <summary>Every transmitter's route table holds <paramref name="candidates"/> anycatch cells (of all three) for the channel.</summary>
    public Task AnycatchReachedAsync(string channel, int candidates, CancellationToken ct) =>
        Eventually.That($"every transmitter knows {candidates} anycatch cells of {channel}", async () =>
        {
            foreach (var t in All)
            {
                if (await t.InvokeAsync(p => p.Routes.Find(Encoding.ASCII.GetBytes(channel), out _)!.Anycatch.Sum(g => g.Candidates.Length)) != candidates)
                {
                    return false;
                }
            }

            return true;
        }, cancellationToken: ct);

    public async ValueTask DisposeAsync()
    {
        await C.DisposeAsync();
        await B.DisposeAsync();
        await A.DisposeAsync();
    }

    private static bool Settled(params Transmitter[] all) =>
        all.All(t => t.Peers.Count(p => p.State == PeerState.Alive && p.LastSeen > p.Since + TimeSpan.FromMilliseconds(300)) == all.Length - 1);
}
