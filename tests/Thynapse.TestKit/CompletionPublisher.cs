using System.Collections.Concurrent;
using Thynapse.Cell;

namespace Thynapse.TestKit;

/// <summary>
/// Publishes completion-awaited events on a few loops until stopped, sorting each body into <see cref="Confirmed"/> (its
/// outcome said it was handled) or <see cref="Failed"/> (the outcome is unknown: it may or may not have been handled), so
/// that a fault test can check that no confirmed event was lost and that duplicates are only of unconfirmed ones.
/// </summary>
public sealed class CompletionPublisher
{
    private readonly CancellationTokenSource _stop;
    private readonly Task[] _loops;
    private int _next;

    private CompletionPublisher(Cell.Cell publisher, string channel, string prefix, int loops, Func<PublishResult, bool> confirms, CancellationToken ct)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _loops = Enumerable.Range(0, loops).Select(_ => Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var body = $"{prefix}-{Interlocked.Increment(ref _next)}";
                try
                {
                    var result = await publisher.PublishAsync(channel, body, new PublishOptions { Await = PublishAwait.Completion }, ct);
                    if (confirms(result))
                    {
                        Confirmed.Add(body);
                    }
                }
                catch (ThynapseException)
                {
                    Failed.Add(body);
                }
            }
        }, ct)).ToArray();
    }

    /// <summary>Bodies whose completion was confirmed.</summary>
    public ConcurrentBag<string> Confirmed { get; } = [];

    /// <summary>Bodies whose publish failed: outcome unknown.</summary>
    public ConcurrentBag<string> Failed { get; } = [];

    /// <summary>Starts <paramref name="loops"/> loops publishing <c>prefix-N</c> bodies on <paramref name="channel"/>.</summary>
    public static CompletionPublisher Start(Cell.Cell publisher, string channel, string prefix, int loops, Func<PublishResult, bool> confirms, CancellationToken ct) =>
        new(publisher, channel, prefix, loops, confirms, ct);

    /// <summary>Stops the loops and waits for their last publishes (bounded).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops).Within("the publishers stop", TimeSpan.FromSeconds(30));
        _stop.Dispose();
    }
}
