using System.Collections;
using System.Reflection;
using NetMQ.Sockets;

namespace Thynapse.Transmitter.Tests;

/// <summary>
/// NetMQ's ROUTER keeps the pipes (and session and buffers) of connections that end before their identity is read,
/// until Wire/DeadPipeSweeper completes their termination (issue 18, item 8: the junk flood's memory).
/// </summary>
[TestClass]
public sealed class DeadPipeSweeperTests : TestBase
{
    private const BindingFlags All = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

    [TestMethod]
    public async Task AStormOfShortConnections_LeavesNoPipesBehind()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { Secret = "sweeper-secret-00000001" });
        var endpoint = transmitter.CommandEndpoint;

        // Each connects, sends one HELO with a wrong secret (or nothing) and closes at once: the HELO storm of the junk
        // flood, where about half the connections left their pipes behind before the sweep.
        var storms = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            for (var i = 0; i < 600; i++)
            {
                using var dealer = new DealerSocket();
                dealer.Options.Linger = TimeSpan.Zero;
                dealer.Connect(endpoint);
                if (t == 0)
                {
                    dealer.SendFrame($"J HELO {{\"id\":\"{Thynapse.Core.Thid.NewRandom()}\",\"service\":\"storm\",\"secret\":\"wrong-guess-0000000000\"}}");
                }

                Thread.Sleep(1); // allowed: pacing the storm's connections, as the junk flood does
            }
        })).ToList();
        storms.ForEach(t => t.Start());
        storms.ForEach(t => t.Join());

        await Eventually.That("the ROUTER holds no pipes of the closed connections",
            async () => await transmitter.InvokeAsync(_ => PipesHeld(transmitter)) == 0, TimeSpan.FromSeconds(30), Ct);
        TestContext.WriteLine($"swept {transmitter.Stats.DeadPipesSwept} dead pipes of 1,200 connections");
        Assert.IsGreaterThan(0L, transmitter.Stats.DeadPipesSwept, "some connections ended before their identity was read, and were swept");
    }

    /// <summary>The pipes the command socket holds (its <c>SocketBase.m_pipes</c>); on the routing thread.</summary>
    private static int PipesHeld(Transmitter transmitter)
    {
        var router = (NetMQSocket)typeof(Transmitter).GetField("_router", All)!.GetValue(transmitter)!;
        var handle = typeof(NetMQSocket).GetProperty("SocketHandle", All)!.GetValue(router)!;
        return ((IList)typeof(NetMQSocket).Assembly.GetType("NetMQ.Core.SocketBase")!.GetField("m_pipes", All)!.GetValue(handle)!).Count;
    }
}
