namespace Thynapse.Transmitter.Tests;

/// <summary>10,000 random messages from one client while another pair of cells keeps exchanging events.</summary>
[TestClass]
public sealed class FuzzTests : TestBase
{
    private const int JunkMessages = 10_000;

    [TestMethod]
    [Timeout(120_000)]
    public async Task RandomFrames_DoNotDisturbOtherCells()
    {
        // No handshake timeout: the fuzzer talks without a session for longer than it, and is meant to be answered throughout.
        await using var transmitter = Transmitters.StartLoopback(o => o with { MaxFrameBytes = 16 * 1024, MaxHeaderBytes = 4096, HandshakeTimeout = TimeSpan.Zero });
        var channel = TestIds.Next("steady");

        // The witnesses: a steady stream of confirmed events that must all arrive, in order, during the fuzzing.
        var witness = Task.Run(() =>
        {
            using var receiver = RawClient.Subscribed(transmitter.CommandEndpoint, "wrx", channel);
            using var sender = RawClient.Welcomed(transmitter.CommandEndpoint, "wtx");
            for (var seq = 1; seq <= 2_000; seq++)
            {
                Ct.ThrowIfCancellationRequested();
                sender.SendJson("EVNT", new JObject { ["channel"] = channel, ["seq"] = seq, ["confirm"] = true }, Encoding.ASCII.GetBytes($"#{seq}"));
                Assert.AreEqual(seq, sender.Expect("ACPT").Payload.Value<int>("seq"));
                var (delivery, body) = receiver.Expect("DLVR");
                Assert.AreEqual(seq, delivery.Value<int>("seq"), "events from one sender arrive in order");
                Assert.AreEqual($"#{seq}", Encoding.ASCII.GetString(body!));
            }
        }, Ct);

        var errorsBefore = transmitter.Stats.ProtocolErrors;
        var droppedBefore = transmitter.Stats.RepliesDropped;
        var replies = 0;
        var random = new Random(20261123);
        using (var fuzzer = new RawClient(transmitter.CommandEndpoint))
        {
            for (var i = 0; i < JunkMessages; i++)
            {
                fuzzer.Send(Junk(random, fuzzer.Id));
                while (fuzzer.TryReceive(TimeSpan.Zero, out _))
                {
                    replies++;
                }
            }

            // The fuzzer's connection is still usable afterwards: the answer to a last, recognisable message comes
            // after every other (a connection's replies keep their order), unless the fuzzer became a slow cell
            // whose replies were dropped — counted, and checked below.
            fuzzer.Send(Encoding.ASCII.GetBytes("J ZZZZ {}"));
            var lastAnswered = false;
            await Eventually.That("the fuzzer's replies are drained up to the answer to its last message", () =>
            {
                while (fuzzer.TryReceive(TimeSpan.FromMilliseconds(20), out var frames))
                {
                    replies++;
                    lastAnswered |= Encoding.ASCII.GetString(frames[0]).Contains("'ZZZZ'", StringComparison.Ordinal);
                }

                return lastAnswered || transmitter.Stats.RepliesDropped > droppedBefore;
            }, TimeSpan.FromSeconds(30), Ct);
        }

        await witness.Within("the witness traffic to complete during the fuzzing", TimeSpan.FromSeconds(90));
        using var after = RawClient.Welcomed(transmitter.CommandEndpoint, "after");

        var errors = transmitter.Stats.ProtocolErrors - errorsBefore;
        var dropped = transmitter.Stats.RepliesDropped - droppedBefore;
        TestContext.WriteLine($"{JunkMessages} junk messages: {errors} ERRR sent, {replies} replies read by the fuzzer, {dropped} dropped, {transmitter.Stats.CellsJoined} cells joined");
        Assert.IsGreaterThan(JunkMessages / 2, errors, "most junk is refused with ERRR");

        // A fuzzer that stumbled on a valid HELO has a session, and one that writes without reading is a slow cell: past
        // the grace its replies are dropped (PROTOCOL.md §8.2). Either way none may vanish uncounted.
        Assert.IsGreaterThan(0, replies, "the fuzzer hears about it");
        Assert.IsGreaterThanOrEqualTo(errors, replies + dropped, "every ERRR was read by the fuzzer or counted as dropped");
    }

    private static byte[][] Junk(Random random, Thid id)
    {
        var frames = new byte[random.Next(1, 5)][];
        for (var f = 0; f < frames.Length; f++)
        {
            frames[f] = random.Next(8) switch
            {
                0 => RandomBytes(random, random.Next(0, 64)),
                1 => Prefixed(random, "J HELO "),
                2 => Prefixed(random, "J EVNT "),
                3 => Prefixed(random, "B EVNT "),
                4 => Prefixed(random, "J SUBS "),
                5 => Encoding.UTF8.GetBytes($"J HELO {{\"id\":\"{id}\",\"service\":\"{(random.Next(2) == 0 ? "fuzz" : "bad name")}\",\"subs\":[{{\"sub\":{random.Next(3)},\"pattern\":\"{RandomPattern(random)}\"}}]}}"),
                6 => Encoding.UTF8.GetBytes($"J EVNT {{\"channel\":\"{RandomPattern(random)}\",\"seq\":{random.Next()}}}"),
                _ => RandomBytes(random, random.Next(0, 20_000)),
            };
        }

        return frames;
    }

    private static byte[] Prefixed(Random random, string prefix) => [.. Encoding.ASCII.GetBytes(prefix), .. RandomBytes(random, random.Next(0, 200))];

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string RandomPattern(Random random)
    {
        const string alphabet = "ab.*>$ ";
        var chars = new char[random.Next(0, 8)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }

        return new string(chars);
    }
}
