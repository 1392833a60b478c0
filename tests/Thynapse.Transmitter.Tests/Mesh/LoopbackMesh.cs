namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// In-process transmitters on loopback meshing for real, started and settled for a mesh test, and the views of the
/// membership the mesh tests wait on. Each member after the first joins through a seed: the one before it (a chain),
/// or the first (a star). Disposed last started first.
/// </summary>
internal sealed class LoopbackMesh : IAsyncDisposable
{
    private readonly List<Transmitter> _all;

    private LoopbackMesh(List<Transmitter> all) => _all = all;

    public Transmitter A => _all[0];

    public Transmitter B => _all[1];

    public Transmitter C => _all[2];

    /// <summary>Every transmitter of the mesh, in the order started.</summary>
    public Transmitter[] All => [.. _all];

    /// <summary>Every transmitter's route table holds <paramref name="candidates"/> anycatch cells (of all of them) for the channel.</summary>
    public Task AnycatchReachedAsync(string channel, int candidates, CancellationToken ct) =>
        Eventually.That($"every transmitter knows {candidates} anycatch cells of {channel}", async () =>
        {
            foreach (var t in _all)
            {
                if (await t.InvokeAsync(p => p.Routes.Find(Encoding.ASCII.GetBytes(channel), out _)!.Anycatch.Sum(g => g.Candidates.Length)) != candidates)
                {
                    return false;
                }
            }

            return true;
        }, cancellationToken: ct);

    /// <summary>
    /// <paramref name="by"/> says <paramref name="accused"/> is suspect, as a member that missed its pings would: the
    /// accused refutes with a higher incarnation, which every member hears while traffic flows.
    /// </summary>
    public static Task AccuseAsync(Transmitter accused, Transmitter by) => accused.InvokeAsync(_ =>
    {
        var membership = accused.Mesh!.Membership;
        var accusation = membership.Self with { State = PeerState.Suspect, From = by.Id };
        membership.OnMembers(new MembersMessage(new StreamHeader(by.Id, 1, 1), [accusation]), answer: false);
        return 0;
    });

    /// <summary>
    /// Starts <paramref name="count"/> transmitters, each after the first seeded with the one before it (or, with
    /// <paramref name="star"/>, with the first), and waits until every one has seen every other alive for a while.
    /// </summary>
    public static async Task<LoopbackMesh> StartAsync(int count, CancellationToken ct, Func<TransmitterOptions, TransmitterOptions>? tune = null, bool star = false)
    {
        tune ??= o => o;
        var all = new List<Transmitter> { Transmitters.StartLoopback(tune) };
        var mesh = new LoopbackMesh(all);
        try
        {
            for (var i = 1; i < count; i++)
            {
                var seed = star ? all[0] : all[i - 1];
                all.Add(Transmitters.StartLoopback(o => tune(o) with { Peers = [seed.CommandEndpoint] }));
            }

            await Eventually.That($"the mesh of {count} has settled", () => AllSeeAll([.. all]) && Settled([.. all]), TimeSpan.FromSeconds(10), ct);
            return mesh;
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
    }

    /// <summary>A's route table holds <paramref name="remoteCells"/> cells of other members that multicatch the channel.</summary>
    public Task InterestReachedAsync(string channel, int remoteCells, CancellationToken ct) =>
        Eventually.That($"a knows {remoteCells} remote cells catch {channel}", async () =>
            await A.InvokeAsync(p => p.Routes.Find(Encoding.ASCII.GetBytes(channel), out _)!.RemoteMulticatch.Length) == remoteCells, cancellationToken: ct);

    /// <summary><paramref name="viewer"/> holds each of <paramref name="others"/> alive, in its current incarnation.</summary>
    public static bool SeesAlive(Transmitter viewer, params Transmitter[] others) =>
        others.All(o => viewer.Peers.Any(p => p.Id == o.Id && p.State == PeerState.Alive && p.Incarnation == o.Incarnation));

    /// <summary>Every one of <paramref name="all"/> holds every other alive.</summary>
    public static bool AllSeeAll(params Transmitter[] all) =>
        all.All(viewer => SeesAlive(viewer, [.. all.Where(o => !ReferenceEquals(o, viewer))]));

    /// <summary>
    /// Every one has heard every other for 300 ms since it held it alive, so its subscriptions reached their event
    /// sockets (a delta published before that is lost to it, and repaired by the snapshot its gap asks for, a pulse later).
    /// </summary>
    public static bool Settled(params Transmitter[] all) =>
        all.All(t => t.Peers.Count(p => p.State == PeerState.Alive && p.LastSeen > p.Since + TimeSpan.FromMilliseconds(300)) == all.Length - 1);

    public async ValueTask DisposeAsync()
    {
        for (var i = _all.Count - 1; i >= 0; i--)
        {
            await _all[i].DisposeAsync();
        }
    }
}
