namespace Thynapse.Cell.Tests;

/// <summary>Events narrowed by metadata queries, selectors, services and keys (PROTOCOL.md §4.6).</summary>
[TestClass]
public sealed class TargetedRoutingTests : TestBase
{
    [TestMethod]
    [Timeout(30_000)]
    public async Task TargetedMulticatch_ReachesOnlyMatchingCells()
    {
        await using var fleet = await Fleet.StartAsync("gateway", "guild.events", Catch.Multi, Ct,
            JObject.Parse("{\"guilds\":[1,2]}"), JObject.Parse("{\"guilds\":[3]}"), JObject.Parse("{\"guilds\":[4,123]}"));
        var sender = fleet.Sender;

        var result = await sender.PublishAsync("guild.events", "for 123", new PublishOptions { Target = JObject.Parse("{\"guilds\":{\"$contains\":123}}") }, Ct);

        Assert.AreEqual(1, result.Receivers);
        await fleet.Caught[2].WaitForAsync(1, "the gateway holding guild 123", Ct);
        await sender.PublishAsync("guild.events", "to all", cancellationToken: Ct);
        await fleet.Caught[0].WaitForAsync(1, "gateway 0, by the untargeted sentinel", Ct);
        await fleet.Caught[1].WaitForAsync(1, "gateway 1, by the untargeted sentinel", Ct);
        Assert.AreEqual("to all", fleet.Caught[0].Events[0].BodyAsString(), "gateway 0 got the sentinel first: nothing targeted reached it");
        Assert.AreEqual("to all", fleet.Caught[1].Events[0].BodyAsString());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task TargetedAnycatch_SharesAmongMatchingCellsOnly()
    {
        await using var fleet = await Fleet.StartAsync("renderer", "render.jobs", Catch.Any, Ct,
            JObject.Parse("{\"version\":\"1.5.0\"}"), JObject.Parse("{\"version\":\"2.0.1\"}"), JObject.Parse("{\"version\":\"2.10.0\"}"));
        var sender = fleet.Sender;
        var modern = new PublishOptions { Target = JObject.Parse("{\"version\":{\"$gte\":\"2.0.0\"}}") };

        for (var i = 0; i < 100; i++)
        {
            Assert.AreEqual(1, (await sender.PublishAsync("render.jobs", $"{i}", modern, Ct)).Receivers);
        }

        await Eventually.That("all 100 are caught", () => fleet.Caught.Sum(c => c.Count) == 100, cancellationToken: Ct);
        fleet.AssertNoErrors();
        Assert.AreEqual(0, fleet.Caught[0].Count, "1.5.0 is too old");
        Assert.AreEqual(50, fleet.Caught[1].Count, "2.0.1 gets half");
        Assert.AreEqual(50, fleet.Caught[2].Count, "2.10.0 (> 2.9) gets half");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Selector_PicksTheMinimumOrMaximumCell()
    {
        await using var fleet = await Fleet.StartAsync("renderer", "render.jobs", Catch.Any, Ct,
            JObject.Parse("{\"load\":0.7}"), JObject.Parse("{\"load\":0.2}"), JObject.Parse("{\"load\":0.5}"), JObject.Parse("{\"other\":1}"));
        var sender = fleet.Sender;

        for (var i = 0; i < 10; i++)
        {
            await sender.PublishAsync("render.jobs", "least", new PublishOptions { Target = JObject.Parse("{\"$min\":\"load\"}") }, Ct);
            await sender.PublishAsync("render.jobs", "most", new PublishOptions { Target = JObject.Parse("{\"$max\":\"load\"}") }, Ct);
        }

        await Eventually.That("all 20 are caught", () => fleet.Caught.Sum(c => c.Count) == 20, cancellationToken: Ct);
        fleet.AssertNoErrors();
        Assert.IsTrue(fleet.Caught[1].Events.All(e => e.BodyAsString() == "least") && fleet.Caught[1].Count == 10, "the 0.2 cell got every $min");
        Assert.IsTrue(fleet.Caught[0].Events.All(e => e.BodyAsString() == "most") && fleet.Caught[0].Count == 10, "the 0.7 cell got every $max");
        Assert.AreEqual(0, fleet.Caught[2].Count + fleet.Caught[3].Count);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task Key_StaysWithItsCellAndMovesOnlyWhenThatCellLeaves()
    {
        await using var fleet = await Fleet.StartAsync("sessions", "session.msgs", Catch.Any, Ct, [], [], []);
        var sender = fleet.Sender;
        var keys = Enumerable.Range(0, 12).Select(i => $"user-{i}").ToArray();
        var options = keys.ToDictionary(k => k, k => new PublishOptions { Key = k });

        for (var round = 0; round < 5; round++)
        {
            foreach (var key in keys)
            {
                await sender.PublishAsync("session.msgs", key, options[key], Ct);
            }
        }

        await Eventually.That("all keyed events are caught", () => fleet.Caught.Sum(c => c.Count) == 60, cancellationToken: Ct);
        fleet.AssertNoErrors();
        var owner = Owners(fleet);
        Assert.HasCount(12, owner, "every key went to exactly one cell, every time");
        Assert.IsGreaterThan(1, owner.Values.Distinct().Count(), "keys spread over the cells");

        var leaving = owner.Values.First();
        await fleet.Cells[leaving].DisposeAsync();
        fleet.Reset();
        foreach (var key in keys)
        {
            await sender.PublishAsync("session.msgs", key, options[key], Ct);
        }

        await Eventually.That("all keyed events are caught again", () => fleet.Caught.Sum(c => c.Count) == 12, cancellationToken: Ct);
        fleet.AssertNoErrors();
        var after = Owners(fleet);
        foreach (var key in keys)
        {
            if (owner[key] == leaving)
            {
                Assert.AreNotEqual(leaving, after[key], $"{key} moved off the departed cell");
            }
            else
            {
                Assert.AreEqual(owner[key], after[key], $"{key} stayed where it was");
            }
        }

        static Dictionary<string, int> Owners(Fleet fleet) => fleet.Caught
            .SelectMany((c, i) => c.Events.Select(e => (Key: e.BodyAsString(), Cell: i)))
            .GroupBy(p => p.Key)
            .ToDictionary(g => g.Key, g => g.Select(p => p.Cell).Distinct().Single());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task MetadataUpdate_RedirectsRoutingBeforeItCompletes()
    {
        await using var fleet = await Fleet.StartAsync("gateway", "guild.events", Catch.Any, Ct,
            JObject.Parse("{\"guilds\":[123]}"), JObject.Parse("{\"guilds\":[7]}"));
        var sender = fleet.Sender;
        var to123 = new PublishOptions { Target = JObject.Parse("{\"guilds\":{\"$contains\":123}}") };

        await sender.PublishAsync("guild.events", "before", to123, Ct);
        await fleet.Caught[0].WaitForAsync(1, "the first owner of guild 123", Ct);

        // Guild 123 moves from gateway 0 to gateway 1.
        await fleet.Cells[1].SetMetadataAsync("guilds", new JArray(7, 123), Ct);
        await fleet.Cells[0].SetMetadataAsync("guilds", new JArray(), Ct);
        await sender.PublishAsync("guild.events", "after", to123, Ct);

        await fleet.Caught[1].WaitForAsync(1, "the new owner of guild 123", Ct);
        Assert.AreEqual("after", fleet.Caught[1].Events[0].BodyAsString());
        Assert.AreEqual(1, fleet.Caught[0].Count);
        Assert.AreEqual("[7,123]", fleet.Cells[1].Metadata["guilds"]!.ToString(Newtonsoft.Json.Formatting.None));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task NoMatchingCell_IsANoReceiverOutcomeOrOnRequestAnException()
    {
        await using var fleet = await Fleet.StartAsync("gateway", "guild.events", Catch.Any, Ct, JObject.Parse("{\"guilds\":[1]}"));
        var sender = fleet.Sender;
        var nobody = JObject.Parse("{\"guilds\":{\"$contains\":999}}");

        var result = await sender.PublishAsync("guild.events", "x", new PublishOptions { Target = nobody }, Ct);
        Assert.AreEqual(PublishStatus.NoReceiver, result.Status);
        await Assert.ThrowsExactlyAsync<ThynapseNoReceiverException>(() =>
            sender.PublishAsync("guild.events", "x", new PublishOptions { Target = nobody, ThrowOnNoReceiver = true }, Ct));
        Assert.AreEqual(PublishStatus.NoReceiver, (await sender.PublishAsync("guild.events", "x", new PublishOptions { Service = "elsewhere" }, Ct)).Status);
        Assert.AreEqual(1, (await sender.PublishAsync("guild.events", "x", new PublishOptions { Service = "gateway" }, Ct)).Receivers);
    }

    [TestMethod]
    public async Task InvalidTarget_IsRefusedBeforeSendingNamingThePath()
    {
        var transmitter = SharedTransmitter.Instance;
        await using var sender = await Cells.ConnectAsync(transmitter, "sender", Ct);

        var ex = Assert.ThrowsExactly<ArgumentException>(() => sender.Publish("a", "x", new PublishOptions { Target = JObject.Parse("{\"load\":{\"$foo\":1}}") }));
        Assert.Contains("load", ex.Message);
        Assert.Contains("$foo", ex.Message);
    }

    /// <summary>
    /// Cells of one service, each with its metadata, all catching one channel, on a loopback transmitter of their own,
    /// and a cell (<see cref="Sender"/>) to publish to them.
    /// </summary>
    private sealed class Fleet : IAsyncDisposable
    {
        private readonly Thynapse.Transmitter.Transmitter _transmitter = Transmitters.StartLoopback();

        public List<Cell> Cells { get; } = [];

        public Cell Sender { get; private set; } = null!;

        public List<EventCollector> Caught { get; } = [];

        private readonly List<CellSubscription> _subscriptions = [];

        public static async Task<Fleet> StartAsync(string service, string channel, Catch mode, CancellationToken ct, params JObject[] metadata)
        {
            var fleet = new Fleet();
            try
            {
                foreach (var m in metadata)
                {
                    var cell = await TestKit.Cells.ConnectAsync(fleet._transmitter, service, o => o with { Metadata = m }, ct);
                    fleet.Cells.Add(cell);
                    var subscription = await cell.SubscribeAsync(channel, mode, ct);
                    var collector = new EventCollector();
                    subscription.Subscribe(collector);
                    fleet.Caught.Add(collector);
                    fleet._subscriptions.Add(subscription);
                }

                fleet.Sender = await TestKit.Cells.ConnectAsync(fleet._transmitter, "sender", ct);
            }
            catch
            {
                await fleet.DisposeAsync(); // a half-started fleet leaves no cell behind
                throw;
            }

            return fleet;
        }

        /// <summary>Fails if any cell's subscription ended with an error (else it would only show as a short count).</summary>
        public void AssertNoErrors()
        {
            for (var i = 0; i < Caught.Count; i++)
            {
                Caught[i].AssertNoError($"cell {i}");
            }
        }

        public void Reset()
        {
            for (var i = 0; i < Caught.Count; i++)
            {
                var fresh = new EventCollector();
                _subscriptions[i].Subscribe(fresh);
                Caught[i] = fresh;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Sender is not null)
            {
                await Sender.DisposeAsync();
            }

            foreach (var cell in Cells)
            {
                await cell.DisposeAsync();
            }

            await _transmitter.DisposeAsync();
        }
    }
}
