namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// Interest propagation between in-process transmitters on loopback (PROTOCOL.md §12.8): a cell's subscriptions travel in
/// its record, as its latest set with the record's version, into every other transmitter's route table.
/// </summary>
[TestClass]
public sealed class InterestMeshTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task SubscriptionsOfACellOnA_ReachTheRouteTablesOfBAndC_AndLeaveThemOnUnsubscribeAndLeave()
    {
        await using var mesh = await LoopbackMesh.StartAsync(3, Ct);
        var (a, b, c) = (mesh.A, mesh.B, mesh.C);

        var channel = TestIds.Next("interest") + ".created";
        using var cell = RawClient.Welcomed(a.CommandEndpoint, TestIds.Next("svc"),
            new JObject { ["subs"] = new JArray(new JObject { ["sub"] = 1, ["pattern"] = channel, ["mode"] = "multi" }) });
        cell.SendJson("SUBS", new JObject { ["sub"] = 2, ["pattern"] = channel, ["mode"] = "any", ["ack"] = true, ["prefetch"] = 3 });
        cell.Expect("OKAY", "OKAY for SUBS");

        foreach (var t in new[] { b, c })
        {
            await Eventually.That($"{Name(t, b)} routes {channel} to the cell on a, by both subscriptions",
                async () => await Remote(t, channel) == $"multi {cell.Id}@{a.Id}; any 2 prefetch 3", cancellationToken: Ct);
        }

        Assert.AreEqual("", await Remote(a, channel), "a's own cell is local to it");
        cell.SendJson("UNSB", new JObject { ["sub"] = 1 });
        cell.Expect("OKAY", "OKAY for UNSB");
        await Eventually.That("c routes only the anycatch subscription", async () => await Remote(c, channel) == "any 2 prefetch 3", cancellationToken: Ct);

        cell.Send("J GBYE {}");
        cell.Expect("GBYE");
        await Eventually.That("c routes nothing to the cell that left", async () => await Remote(c, channel) == "", cancellationToken: Ct);
    }

    /// <summary>What <paramref name="t"/>'s route table holds of other transmitters' cells for <paramref name="channel"/>.</summary>
    private static Task<string> Remote(Transmitter t, string channel) => t.InvokeAsync(p =>
    {
        var parts = new List<string>();
        var plan = p.Routes.Find(Encoding.ASCII.GetBytes(channel), out _)!;
        parts.AddRange(plan.RemoteMulticatch.Select(r => $"multi {r.Id}@{((RemoteCell)r).Transmitter}"));
        foreach (var cell in p.Mesh!.Cells.Cells)
        {
            parts.AddRange(cell.Profile.Subscriptions.Values.Where(s => s.Mode == Catch.Any && s.Active && s.Pattern.Matches(channel))
                .Select(s => $"any {s.Id} prefetch {s.Acks?.Prefetch}"));
        }

        return string.Join("; ", parts);
    });

    private static string Name(Transmitter t, Transmitter b) => ReferenceEquals(t, b) ? "b" : "c";
}
