using Thynapse.Cell.Internal;
using System.Reactive.Linq;
using Thynapse.Core;

namespace Thynapse.Cell;

public sealed partial class Cell
{
    /// <summary>
    /// Subscribes <paramref name="pattern"/> in <paramref name="mode"/> and completes once the transmitter has
    /// confirmed it: events published after that are caught (PROTOCOL.md §4).
    /// </summary>
    /// <remarks>
    /// Events are buffered from that moment until an observer subscribes. Multicatch: every subscribed cell of
    /// every service gets each event. Anycatch: one subscribed cell per service gets it.
    /// </remarks>
    /// <exception cref="ArgumentException">The pattern is invalid.</exception>
    /// <exception cref="ThynapseRejectedException">The transmitter refused the subscription.</exception>
    public Task<CellSubscription> SubscribeAsync(string pattern, Catch mode, CancellationToken cancellationToken = default) =>
        SubscribeAsync(pattern, mode, SubscriptionOptions.Default, cancellationToken);

    /// <inheritdoc cref="SubscribeAsync(string, Catch, CancellationToken)"/>
    public Task<CellSubscription> SubscribeAsync(string pattern, Catch mode, SubscriptionOptions options, CancellationToken cancellationToken = default) =>
        SubscribeAsync(pattern, mode, options, handled: false, cancellationToken);

    /// <summary><paramref name="handled"/>: for <see cref="HandleAsync"/> (see <see cref="CellSubscription.Handled"/>).</summary>
    internal Task<CellSubscription> SubscribeAsync(string pattern, Catch mode, SubscriptionOptions options, bool handled, CancellationToken cancellationToken)
    {
        // Arguments are checked before any work starts, so mistakes throw here rather than from the task.
        ThrowIfDisposed();
        var parsed = ChannelPattern.Parse(pattern);
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Catch.Multi or Catch.Any.");
        }

        ArgumentNullException.ThrowIfNull(options);
        options.Validate(mode);
        return SubscribeCoreAsync(parsed, mode, options, handled, cancellationToken);
    }

    private async Task<CellSubscription> SubscribeCoreAsync(ChannelPattern parsed, Catch mode, SubscriptionOptions options, bool handled, CancellationToken cancellationToken)
    {
        var pattern = parsed.Text;
        var id = _subscriptions.NextId();
        var capacity = options.BufferCapacity ?? Math.Max(_options.SubscriptionBufferCapacity, options.Prefetch ?? 0);
        var subscription = new CellSubscription(this, id, parsed, mode, options, capacity,
            ex => Notify(new CellNotice(CellNoticeKind.ObserverFailed, $"An observer of {pattern} threw: {ex.Message}") { Exception = ex, Pattern = pattern }),
            handled);
        var confirmed = RequestAsync(subscription.ToMessage(), () => _subscriptions.Routes.Add(subscription), cancellationToken: cancellationToken);
        try
        {
            await confirmed.WaitAsync(cancellationToken).ConfigureAwait(false);
            return subscription;
        }
        catch (OperationCanceledException)
        {
            // The caller gave up, but the transmitter may still confirm: undo it whenever it does.
            _ = confirmed.ContinueWith(_ => subscription.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
        catch (Exception ex)
        {
            Work(() =>
            {
                _subscriptions.Routes.Remove(subscription);
                if (ex is ThynapseTimeoutException)
                {
                    // The SUBS may still have been applied, its answer lost or late: undo it, so that no orphan
                    // subscription at the transmitter catches (and loses) events meant for live ones.
                    _outbox.Send(new UnsubscribeMessage(subscription.Id).ToFrame());
                }
            });
            subscription.Queue.Complete();
            throw;
        }
    }

    /// <summary>
    /// The events of <paramref name="pattern"/> caught in <paramref name="mode"/>, as a lazy observable: each
    /// <c>Subscribe</c> subscribes at the transmitter, and disposing it unsubscribes.
    /// </summary>
    /// <remarks>
    /// <c>OnNext</c> is called serially on a thread-pool thread. Refusals arrive as <c>OnError</c>
    /// (<see cref="ThynapseRejectedException"/>); disposing the cell completes the sequence. To know when the
    /// subscription is active, use <see cref="SubscribeAsync(string, Catch, CancellationToken)"/> instead.
    /// </remarks>
    /// <exception cref="ArgumentException">The pattern is invalid (thrown at once, not on subscribe).</exception>
    public IObservable<Event> Events(string pattern, Catch mode)
    {
        ThrowIfDisposed();
        ChannelPattern.Parse(pattern);
        return Observable.Create<Event>(async (observer, cancellationToken) =>
        {
            var subscription = await SubscribeAsync(pattern, mode, cancellationToken).ConfigureAwait(false);
            using (subscription.Subscribe(observer))
            {
                try
                {
                    await subscription.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Disposed by the observer: unsubscribe below.
                }
            }

            await subscription.DisposeAsync().ConfigureAwait(false);
        });
    }

    internal async Task UnsubscribeAsync(CellSubscription subscription)
    {
        if (IsDisposed)
        {
            return; // the cell is closing and completes every subscription itself
        }

        if (CurrentState != CellState.Connected)
        {
            // No session to tell now: the next HELO carries only the subscriptions still held, and the welcome settles
            // (or sends) this UNSB. Nobody needs to wait for that.
            var request = Request.Of(new UnsubscribeMessage(subscription.Id));
            Work(() =>
            {
                _subscriptions.Routes.Remove(subscription);
                _requests.Submit(request);
            });
            return;
        }

        try
        {
            await RequestAsync(new UnsubscribeMessage(subscription.Id), () => _subscriptions.Routes.Remove(subscription)).ConfigureAwait(false);
        }
        catch (ThynapseRejectedException ex) when (ex.Code == ThynapseErrorCode.UnknownSubscription)
        {
            // Already gone at the transmitter (its SUBS failed, or the session was renewed without it).
        }
        catch (ThynapseTimeoutException)
        {
            // The transmitter did not answer (it may be gone); locally the subscription has ended either way.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
