using System.Diagnostics;

namespace Thynapse.TestKit;

/// <summary>The steady flow flood tests measure: 2,000 fire-and-forget events a second, in 20 ms steps of 40.</summary>
public static class SteadyFlow
{
    /// <summary>Publishes on <paramref name="channel"/> until <paramref name="stop"/>, calling <paramref name="published"/> after each event.</summary>
    public static Task Run(Cell.Cell publisher, string channel, CancellationToken stop, Action? published = null) => Task.Run(async () =>
    {
        var clock = Stopwatch.StartNew();
        for (var step = 0L; !stop.IsCancellationRequested; step++)
        {
            for (var i = 0; i < 40; i++)
            {
                publisher.Publish(channel, "tick");
                published?.Invoke();
            }

            var due = TimeSpan.FromMilliseconds((step + 1) * 20) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, CancellationToken.None); // allowed: the pace of the steady flow
            }
        }
    }, CancellationToken.None);
}
