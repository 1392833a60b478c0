namespace Thynapse.Transmitter.Tests;

/// <summary>
/// Guessing is slowed per source address (PROTOCOL.md §5.1): of 1,000 wrong guesses from one address, over several
/// connections, only the first few are checked at all, while authenticated cells from the same host keep their rate.
/// </summary>
[TestClass]
public sealed class GuessingTests : TestBase
{
    private const string Secret = "the-real-secret-of-this-test";
    private const int Guesses = 1000;

    [TestMethod]
    [Timeout(60_000)]
    public async Task ThousandGuessesFromOneSource_AreSlowed_WhileAnAuthenticatedCellKeepsItsRate()
    {
        // A long handshake timeout: on a loaded machine the guessers may talk without a session for longer than the default.
        await using var transmitter = Transmitters.StartLoopback(o => o with { Secret = Secret, HandshakeTimeout = TimeSpan.FromMinutes(5) });
        var channel = TestIds.Next("guess.flow");
        await using var subscriber = await Cells.ConnectAsync(transmitter, "guess-sub", o => o with { Secret = Secret }, Ct);
        await using var publisher = await Cells.ConnectAsync(transmitter, "guess-pub", o => o with { Secret = Secret }, Ct);
        await using var subscription = await subscriber.SubscribeAsync(channel, Catch.Multi, Ct);
        long received = 0;
        using var counting = subscription.Subscribe(_ => Interlocked.Increment(ref received));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var flow = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await publisher.PublishAsync(channel, new byte[64], cancellationToken: stop.Token);
            }
        }, Ct);
        await Eventually.That("the normal flow runs", () => Interlocked.Read(ref received) > 100, cancellationToken: Ct);

        var before = await RateAsync(() => Interlocked.Read(ref received), TimeSpan.FromSeconds(1), Ct);

        // 1,000 wrong guesses as fast as the answers come, spread over 10 connections from the same address.
        var clients = Enumerable.Range(0, 10).Select(_ => new RawClient(transmitter.CommandEndpoint)).ToList();
        var answers = new Dictionary<int, int>();
        var startCount = Interlocked.Read(ref received);
        var clock = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < Guesses; i++)
            {
                var client = clients[i % clients.Count];
                client.SendJson("HELO", new JObject { ["id"] = client.Id.ToString(), ["service"] = "guesser", ["secret"] = $"guess-number-{i:D8}-xxxxxxxx" });
                var (command, payload, _) = client.ReceiveJson("the answer to a guess");
                Assert.AreEqual("ERRR", command, payload.ToString());
                var code = payload.Value<int>("code");
                answers[code] = answers.GetValueOrDefault(code) + 1;
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        clock.Stop();
        var during = (Interlocked.Read(ref received) - startCount) / clock.Elapsed.TotalSeconds;
        // Recovered: within ten one-second windows, one at a quarter of the rate before (the other test classes running
        // beside this one move a single window's rate by more than that: a run measured 569/s against 3153/s before,
        // with 4358/s during the guesses).
        var after = 0.0;
        for (var window = 0; window < 10 && after <= before * 0.25; window++)
        {
            after = Math.Max(after, await RateAsync(() => Interlocked.Read(ref received), TimeSpan.FromSeconds(1), Ct));
        }

        await stop.CancelAsync();
        await flow.ContinueWith(_ => { }, TaskScheduler.Default);

        var checkedGuesses = answers.GetValueOrDefault((int)ThynapseErrorCode.AuthenticationFailed);
        var throttled = answers.GetValueOrDefault((int)ThynapseErrorCode.TooManyAttempts);
        TestContext.WriteLine($"{Guesses} guesses in {clock.Elapsed.TotalMilliseconds:F0} ms: {checkedGuesses} checked ({checkedGuesses / clock.Elapsed.TotalSeconds:F1}/s), {throttled} refused unchecked; " +
            $"normal flow {before:F0}/s before, {during:F0}/s during, {after:F0}/s after");
        Assert.AreEqual(Guesses, checkedGuesses + throttled, "every guess is refused, checked or not");
        // At most the free failures, then one per wait that fits in the time the guesses took.
        var allowed = Sessions.GuessLimiter.FreeFailures;
        for (var waited = TimeSpan.Zero; waited <= clock.Elapsed; waited += Sessions.GuessLimiter.Delay(allowed))
        {
            allowed++;
        }

        Assert.IsLessThanOrEqualTo(allowed, checkedGuesses, $"only {allowed} guesses fit the waits of {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.IsLessThan(TransmitterOptions.Default.MaxFailedAttempts, checkedGuesses);
        Assert.AreEqual(throttled, transmitter.Stats.AttemptsThrottled);
        // On a loaded two-core machine the guesser's own thread competes with the flow for CPU: measured here, 1,000 plain
        // NOT_WELCOMED requests sent the same way slow it as much (to a fifth) as 1,000 guesses do. What the limiter
        // must not do is stall the routing thread or hurt the sessions: the flow goes on during and recovers after. A
        // twentieth: with the other test assemblies running beside this one a run measured 461/s during against 5112/s
        // before (the flow plainly going on, 8094/s after); a stalled routing thread gives next to nothing.
        Assert.IsGreaterThan(before * 0.05, during, $"the authenticated flow kept going during the guesses ({during:F0}/s against {before:F0}/s)");
        // A quarter, not a half: the other test classes running beside this one on two cores move a one-second rate by
        // more than that (a CI run measured 354/s after against 736/s before, with the flow plainly recovered).
        Assert.IsGreaterThan(before * 0.25, after, $"the authenticated flow recovered after the guesses ({after:F0}/s against {before:F0}/s)");
        Assert.AreEqual(CellState.Connected, publisher.CurrentState);
        Assert.AreEqual(CellState.Connected, subscriber.CurrentState);
    }

    private static async Task<double> RateAsync(Func<long> count, TimeSpan over, CancellationToken ct)
    {
        var start = count();
        var clock = Stopwatch.StartNew();
        await Task.Delay(over, ct); // a measurement window, not a wait for a condition
        return (count() - start) / clock.Elapsed.TotalSeconds;
    }
}
