using System.Text;
using NetMQ;
using NetMQ.Sockets;

namespace Thynapse.Cell.Tests;

/// <summary>
/// A publisher whose BEAT waits behind its own events keeps its session while the transmitter keeps reading
/// (PROTOCOL.md §4.4). The transmitter here is a ROUTER played by the test: it welcomes the cell, then reads one message
/// per millisecond and never answers a BEAT.
/// </summary>
[TestClass]
public sealed class BusyPublisherLivenessTests : TestBase
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task BusyPublisher_KeepsItsSessionWhileTheTransmitterReadsButCannotAnswerInTime()
    {
        using var router = new RouterSocket();
        router.Options.ReceiveHighWatermark = 10;
        router.Options.Linger = TimeSpan.Zero;
        var port = router.BindRandomPort("tcp://127.0.0.1");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var read = 0L;
        var reader = Task.Factory.StartNew(() => SlowTransmitter(router, stop.Token, ref read), TaskCreationOptions.LongRunning);

        var cell = await Cell.ConnectAsync(CellOptions.Default with { Transmitter = $"tcp://127.0.0.1:{port}", Service = "busy" }, Ct);
        var lost = 0;
        using var notices = cell.Notices.Subscribe(n =>
        {
            if (n.Kind == CellNoticeKind.ConnectionLost)
            {
                Interlocked.Increment(ref lost);
            }
        });
        var body = new byte[1024];
        var publisher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                cell.Publish("load.data", body); // far faster than the transmitter reads: the cell's queue stays full
            }
        }, CancellationToken.None);

        // At most one read per millisecond, 4,000 reads span at least two liveness windows in which no BEAT is answered.
        await Eventually.That("the transmitter read 4,000 messages", () => Interlocked.Read(ref read) >= 4_000, TimeSpan.FromSeconds(45), Ct);
        var readMeanwhile = Interlocked.Read(ref read);
        var state = cell.CurrentState;
        var lostMeanwhile = Volatile.Read(ref lost); // before the transmitter stops reading (then the cell may well give up)
        await stop.CancelAsync();
        await publisher.WaitAsync(TimeSpan.FromSeconds(20), Ct).ContinueWith(_ => { }, TaskScheduler.Default);
        await reader.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await cell.DisposeAsync();

        TestContext.WriteLine($"read {readMeanwhile} messages; state {state}; connection lost {lostMeanwhile} times");
        Assert.IsGreaterThanOrEqualTo(4_000L, readMeanwhile, "the transmitter kept reading");
        Assert.AreEqual(0, lostMeanwhile, "the cell never gave the session up");
        Assert.AreEqual(CellState.Connected, state);
    }

    /// <summary>
    /// Review finding 17b: a publisher that sends now and then to a transmitter that stopped reading (the test's ROUTER
    /// welcomes it, then never reads again, as a SIGSTOPped process would) sees every send taken by the buffers on the
    /// way; that was counted as a sign of life, so the cell never gave up. Only frames from the transmitter (or room
    /// made in a full send queue) prove it alive: the cell must lose the session within the liveness timeout and a margin.
    /// </summary>
    [TestMethod]
    [Timeout(60_000)]
    public async Task SlowPublisher_GivesUpOnATransmitterThatStoppedReading()
    {
        const int liveness = 1000;
        using var transmitter = new ScriptedTransmitter();
        await using var cell = await transmitter.ConnectAsync("slow", Ct, new JObject { ["heartbeat"] = 100, ["liveness"] = liveness });
        var lost = SlowPublisher.NextNoticeAsync(cell, CellNoticeKind.ConnectionLost);
        await using (new SlowPublisher(cell, "metrics.tick", TimeSpan.FromMilliseconds(50)))
        {
            // From here on nothing is read: the transmitter answers no BEAT. Liveness, one tick, and room for a loaded machine.
            var silent = System.Diagnostics.Stopwatch.StartNew();
            await lost.Within("the cell to give the silent transmitter up", TimeSpan.FromMilliseconds(liveness * 8));
            TestContext.WriteLine($"the session was lost {silent.ElapsedMilliseconds} ms after the transmitter stopped reading (liveness {liveness} ms)");
            Assert.IsGreaterThanOrEqualTo(liveness - 200, silent.ElapsedMilliseconds, "not before the liveness timeout");
        }
    }

    /// <summary>
    /// Welcomes the cell (heartbeat 100 ms, liveness 2 s), then takes at most one message per millisecond, answering
    /// nothing: the cell's BEATs wait behind its events, which keep leaving its send queue as the reads free room.
    /// </summary>
    private static void SlowTransmitter(RouterSocket router, CancellationToken stop, ref long read)
    {
        var welcomed = false;
        var frames = new List<byte[]>();
        while (!stop.IsCancellationRequested)
        {
            frames.Clear();
            if (!router.TryReceiveMultipartBytes(TimeSpan.FromMilliseconds(50), ref frames))
            {
                continue;
            }

            Interlocked.Increment(ref read);
            var header = Encoding.UTF8.GetString(frames[1], 0, Math.Min(frames[1].Length, 4096));
            if (!welcomed && header.StartsWith("J HELO ", StringComparison.Ordinal))
            {
                var hello = JObject.Parse(header[7..]);
                var welcome = new JObject
                {
                    ["id"] = Thid.NewRandom().ToString(),
                    ["pub"] = "tcp://127.0.0.1:1",
                    ["session"] = "s1",
                    ["heartbeat"] = 100,
                    ["liveness"] = 2000,
                    ["encodings"] = new JArray("B", "J"),
                    ["ref"] = hello["ref"],
                };
                router.SendMoreFrame(frames[0]).SendFrame("J WLCM " + welcome.ToString(Newtonsoft.Json.Formatting.None));
                welcomed = true;
                continue;
            }

            stop.WaitHandle.WaitOne(1); // the pace of a transmitter that reads slowly: at least 1 ms between reads
        }
    }
}
