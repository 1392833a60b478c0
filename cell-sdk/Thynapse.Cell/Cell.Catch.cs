using Thynapse.Cell.Internal;
using System.Reactive.Linq;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell;

public sealed partial class Cell
{
    private readonly List<CellSubscription> _frameWriters = [];
    private int _nextSubscriptionId;

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
        var id = (uint)Interlocked.Increment(ref _nextSubscriptionId);
        var capacity = options.BufferCapacity ?? Math.Max(_options.SubscriptionBufferCapacity, options.Prefetch ?? 0);
        var subscription = new CellSubscription(this, id, parsed, mode, options, capacity,
            ex => Notify(new CellNotice(CellNoticeKind.ObserverFailed, $"An observer of {pattern} threw: {ex.Message}") { Exception = ex, Pattern = pattern }),
            handled);
        var confirmed = RequestAsync(Command.Subs, subscription.ToWire(), () => _routes.Add(subscription), cancellationToken: cancellationToken);
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
                _routes.Remove(subscription);
                if (ex is ThynapseTimeoutException)
                {
                    // The SUBS may still have been applied, its answer lost or late: undo it, so that no orphan
                    // subscription at the transmitter catches (and loses) events meant for live ones.
                    Send(JsonPayload.Frame(Command.Unsb, new JObject { ["sub"] = subscription.Id }));
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
        if (Volatile.Read(ref _disposed) != 0)
        {
            return; // the cell is closing and completes every subscription itself
        }

        if (CurrentState != CellState.Connected)
        {
            // No session to tell now: the next HELO carries only the subscriptions still held, and the welcome settles
            // (or sends) this UNSB. Nobody needs to wait for that.
            var request = new Request(Command.Unsb, new JObject { ["sub"] = subscription.Id });
            Work(() =>
            {
                _routes.Remove(subscription);
                _requests.Submit(request);
            });
            return;
        }

        try
        {
            await RequestAsync(Command.Unsb, new JObject { ["sub"] = subscription.Id }, () => _routes.Remove(subscription)).ConfigureAwait(false);
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

    /// <summary>
    /// Socket thread: one <c>B DLVR</c> frame, each record to its subscription(s); the events' bodies are slices of
    /// the frame's buffer, lent to handlers or kept for observers (<see cref="FrameLease"/>).
    /// Each subscription takes the frame's events as one run of writes (one lock and one wake-up per frame).
    /// </summary>
    private void HandleDeliveries(ArraySegment<byte> frame, int payloadOffset)
    {
        try
        {
            ReadDeliveries(frame, payloadOffset);
        }
        finally
        {
            EndFrameWrites(0);
        }
    }

    /// <summary>Ends every run of writes from <paramref name="index"/> on, each even if one before it throws.</summary>
    private void EndFrameWrites(int index)
    {
        if (index >= _frameWriters.Count)
        {
            _frameWriters.Clear();
            return;
        }

        try
        {
            _frameWriters[index].EndWrites();
        }
        finally
        {
            EndFrameWrites(index + 1);
        }
    }

    /// <summary>Socket thread, inside <see cref="HandleDeliveries"/>: starts the subscription's run of writes on its first event.</summary>
    private CellSubscription Writing(CellSubscription subscription)
    {
        if (!subscription.Writing)
        {
            subscription.BeginWrites();
            _frameWriters.Add(subscription);
        }

        return subscription;
    }

    private void ReadDeliveries(ArraySegment<byte> frame, int payloadOffset)
    {
        var payload = frame.AsSpan(payloadOffset);
        var payloadStart = frame.Offset + payloadOffset;
        var reader = new DeliveryRecordReader(payload);
        var lease = new FrameLease(frame.Array!);
        try
        {
            ReadRecords(ref reader, frame.Array!, payloadStart, lease);
        }
        finally
        {
            lease.Release();
        }

        if (!reader.End)
        {
            _log.Warning("The transmitter sent a malformed delivery frame; the rest of it was skipped");
        }
    }

    private void ReadRecords(ref DeliveryRecordReader reader, byte[] frame, int payloadStart, FrameLease lease)
    {
        ReadOnlySpan<byte> previousChannel = default;
        ChannelRoute? route = null;
        while (reader.TryRead(out var record, out _))
        {
            // Records of one frame usually share a channel: resolve it once.
            if (route is null || !record.Channel.SequenceEqual(previousChannel))
            {
                route = _routes.Resolve(record.Channel);
                previousChannel = record.Channel;
            }

            var body = new ReadOnlyMemory<byte>(frame, payloadStart + record.BodyOffset, record.Body.Length);
            var deadLetter = record.Extension.IsEmpty ? null : ReadDeadLetter(record.Extension);
            if (record.IsAnycatch)
            {
                DeliverAnycatch(route.Name, body, record.Origin, record.Sequence, record.Subscription, record.Tag, record.Attempt, deadLetter, lease);
                continue;
            }

            if (route.Multicatch.Length > 0)
            {
                lease.Keep();
            }

            var e = new Event(route.Name, body, record.Origin, record.Sequence, Catch.Multi, 0, deadLetter: deadLetter);
            foreach (var subscription in route.Multicatch)
            {
                Writing(subscription).Offer(e);
            }
        }
    }

    /// <summary>Socket thread: one <c>J DLVR</c> (used when a transmitter does not send binary frames).</summary>
    private void HandleJsonDelivery(JObject header, ReadOnlySpan<byte> body)
    {
        var channel = header.Value<string>("channel");
        if (channel is null || !Thid.TryParse(header.Value<string>("origin"), out var origin))
        {
            _log.Warning("The transmitter sent a J DLVR without channel or origin");
            return;
        }

        var copy = CopyOf(body);
        var sequence = header.Value<ulong?>("seq") ?? 0;
        Span<byte> channelBytes = stackalloc byte[Math.Min(channel.Length, Channel.MaxLength)];
        System.Text.Encoding.ASCII.GetBytes(channel.AsSpan(0, channelBytes.Length), channelBytes);
        var route = _routes.Resolve(channelBytes);
        var deadLetter = header["deadLetter"] is JObject details ? ToDeadLetter(details) : null;
        if (header.Value<string>("mode") == "any")
        {
            DeliverAnycatch(route.Name, copy, origin, sequence, header.Value<uint>("sub"), header.Value<ulong>("tag"), header.Value<int?>("attempt") ?? 1, deadLetter);
            return;
        }

        var e = new Event(route.Name, copy, origin, sequence, Catch.Multi, 0, deadLetter: deadLetter);
        foreach (var subscription in route.Multicatch)
        {
            subscription.Offer(e);
        }
    }

    /// <summary>
    /// Socket thread: an anycatch delivery to its subscription. An acknowledging subscription's duplicate of an event
    /// this cell already handled is acknowledged again and goes no further; one it cannot buffer, or one for a
    /// subscription that has ended, is refused so that another cell gets it at once.
    /// </summary>
    /// <remarks>
    /// <paramref name="lease"/>: the delivery frame the body is a slice of (null: the body is the event's own). A
    /// handler's event holds it until the handler has finished; any other event keeps it.
    /// </remarks>
    private void DeliverAnycatch(string channel, ReadOnlyMemory<byte> body, Thid origin, ulong sequence, uint subscriptionId, ulong tag, int attempt, DeadLetterInfo? deadLetter, FrameLease? lease = null)
    {
        if (!_routes.TryGet(subscriptionId, out var subscription))
        {
            // It ended here before the transmitter heard: hand tracked work straight back.
            _acknowledgements.LateDelivery(tag);
            return;
        }

        // A handler loop looks every event up before running the handler, so for its subscription only redeliveries
        // are looked up here (the socket thread then does not pay for it on every event); a first delivery can still
        // be a duplicate, when its publisher resent it to a restarted transmitter.
        if (subscription.Acknowledging && (attempt > 1 || !subscription.Handled) && _acknowledgements.Handled(origin, sequence))
        {
            _acknowledgements.AcknowledgeDuplicate(tag, _acknowledgements.Session); // the socket thread: this session's tag
            return;
        }

        // A handler borrows the frame until it has finished; anyone else may keep the event, and so the frame.
        var lent = subscription.Handled ? lease?.Hold() : null;
        if (!subscription.Handled)
        {
            lease?.Keep();
        }

        var e = new Event(channel, body, origin, sequence, Catch.Any, attempt, subscription, tag, deadLetter, lent,
            receivedAt: subscription.Acknowledging ? Environment.TickCount64 : 0, session: _acknowledgements.Session);
        if (!(lease is not null ? Writing(subscription) : subscription).Offer(e))
        {
            lent?.Release();
            if (subscription.Acknowledging)
            {
                _acknowledgements.Refuse(tag, "the cell's buffer for this subscription is full", _acknowledgements.Session);
            }
        }
    }

    /// <summary>A GC-owned copy (events may outlive the socket's pooled buffer), not zeroed first: it is overwritten at once.</summary>
    private static byte[] CopyOf(ReadOnlySpan<byte> bytes)
    {
        var copy = GC.AllocateUninitializedArray<byte>(bytes.Length);
        bytes.CopyTo(copy);
        return copy;
    }

    private static DeadLetterInfo? ReadDeadLetter(ReadOnlySpan<byte> extension) =>
        JsonPayload.TryParse(extension, out var json, out _) && json["deadLetter"] is JObject details ? ToDeadLetter(details) : null;

    private static DeadLetterInfo ToDeadLetter(JObject details) => new(
        details.Value<string>("channel") ?? "",
        details.Value<string>("service") ?? "",
        details.Value<int?>("attempts") ?? 0,
        details.Value<string>("reason") ?? "");

    /// <summary>Socket thread: one <c>B ACPT</c> frame.</summary>
    private void HandleAccepts(ReadOnlySpan<byte> payload)
    {
        var records = payload.Length / AcceptRecord.Length;
        for (var i = 0; i < records; i++)
        {
            var (sequence, receivers) = AcceptRecord.Read(payload, i);
            _publishes.TryAnswer(sequence, new PublishAnswer(receivers > 0 ? PublishStatus.Accepted : PublishStatus.NoReceiver, (int)receivers));
        }
    }

    /// <summary>Socket thread: one <c>B DONE</c> frame.</summary>
    private void HandleCompletions(ReadOnlySpan<byte> payload)
    {
        var records = payload.Length / DoneRecord.Length;
        for (var i = 0; i < records; i++)
        {
            var (sequence, receivers, outcome) = DoneRecord.Read(payload, i);
            Completed(sequence, (int)receivers, outcome);
        }
    }

    /// <summary>Socket thread: one <c>J DONE</c>; a dead-lettered one names the service that gave up and why (PROTOCOL.md §5.14).</summary>
    private void HandleJsonCompletion(JObject done)
    {
        var sequence = done.Value<ulong>("seq");
        if (done.Value<string>("outcome") != "dead_lettered")
        {
            Completed(sequence, done.Value<int>("receivers"), CompletionOutcome.Completed);
            return;
        }

        var service = done.Value<string>("service");
        var reason = done.Value<string>("reason");
        var attempts = done.Value<int?>("attempts");
        _publishes.TryFail(sequence, new ThynapseDeadLetteredException(service is null
            ? $"Event #{sequence} used up its attempts at a service and went to its dead-letter channel."
            : $"Event #{sequence} on '{done.Value<string>("channel")}' used up its {attempts} attempts at service '{service}' and went to $DLQ.{service}; the last attempt ended: {reason}.")
        {
            Service = service,
            Reason = reason,
            Attempts = attempts ?? 0,
        });
    }

    private void Completed(ulong sequence, int receivers, CompletionOutcome outcome)
    {
        if (outcome == CompletionOutcome.DeadLettered)
        {
            // A transmitter that speaks §5.14 sends dead-lettered outcomes as J DONE, with the details.
            _publishes.TryFail(sequence, new ThynapseDeadLetteredException(
                $"Event #{sequence} used up its attempts at a service and went to its dead-letter channel."));
        }
        else
        {
            _publishes.TryAnswer(sequence, new PublishAnswer(receivers > 0 ? PublishStatus.Completed : PublishStatus.NoReceiver, receivers));
        }
    }
}
