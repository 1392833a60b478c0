using Thynapse.Cell.Internal;
using System.Buffers;
using System.Text;
using Newtonsoft.Json;
using Thynapse.Core;

namespace Thynapse.Cell;

public sealed partial class Cell
{
    private string? _lastValidChannel;

    /// <summary>
    /// Publishes an event and returns at once (fire-and-forget, at most once). A refusal by the transmitter is
    /// reported on <see cref="Notices"/>.
    /// </summary>
    /// <remarks>
    /// The event is copied into the cell's publish buffer; when that buffer is full (the transmitter is not taking
    /// events), this waits for room up to <see cref="CellOptions.PublishTimeout"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">The channel is invalid or reserved, or the event is too large.</exception>
    /// <exception cref="ThynapseTimeoutException">The publish buffer stayed full.</exception>
    public void Publish(string channel, ReadOnlySpan<byte> body, PublishOptions? options = null)
    {
        var key = CheckPublish(channel, body.Length, options);
        _publishes.Append(channel, key, body, EventRecordFlags.None, null, _options.PublishTimeout);
    }

    /// <summary>Publishes a UTF-8 text body; see <see cref="Publish(string, ReadOnlySpan{byte}, PublishOptions?)"/>.</summary>
    public void Publish(string channel, string body, PublishOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(body.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(body, bytes);
            Publish(channel, bytes.AsSpan(0, length), options);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Publishes <paramref name="value"/> serialized as JSON (Newtonsoft.Json).</summary>
    public void PublishJson<T>(string channel, T value, PublishOptions? options = null) =>
        Publish(channel, Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(value)), options);

    /// <summary>
    /// Publishes an event and completes when the transmitter has accepted it (telling whether anybody received it),
    /// or — with <see cref="PublishAwait.Completion"/> — when every acknowledging anycatch receiver has handled it.
    /// </summary>
    /// <remarks>
    /// Awaiting completion has no timeout of its own (pass a token): the transmitter's redeliveries and dead letters
    /// bound it, and if the session is lost the cell resends the event (same THID) after it re-joins.
    /// </remarks>
    /// <exception cref="ArgumentException">The channel is invalid or reserved, or the event is too large.</exception>
    /// <exception cref="ThynapseRejectedException">The transmitter refused the event (for example <c>QUEUE_FULL</c>).</exception>
    /// <exception cref="ThynapseDeadLetteredException">Awaiting completion: a service gave up on the event.</exception>
    /// <exception cref="ThynapseConnectionException">Awaiting acceptance: the session was lost before the transmitter confirmed.</exception>
    /// <exception cref="ThynapseTimeoutException">Awaiting acceptance: no confirmation within <see cref="CellOptions.PublishTimeout"/>.</exception>
    public async Task<PublishResult> PublishAsync(string channel, ReadOnlyMemory<byte> body, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        var key = CheckPublish(channel, body.Length, options);
        var completion = options?.Await == PublishAwait.Completion;
        var answer = new TaskCompletionSource<PublishAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sequence = _publishes.Append(channel, key, body.Span, completion ? EventRecordFlags.Completion : EventRecordFlags.Confirm, answer, _options.PublishTimeout);
        var id = EventId(channel, sequence, body.Span);
        try
        {
            var (status, receivers) = completion
                ? await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false)
                : await answer.Task.WaitAsync(_options.PublishTimeout, cancellationToken).ConfigureAwait(false);
            return new PublishResult(id, sequence, status, receivers);
        }
        catch (TimeoutException)
        {
            _publishes.Forget(sequence);
            throw new ThynapseTimeoutException($"No confirmation for event #{sequence} on '{channel}' within {_options.PublishTimeout}.");
        }
        catch (OperationCanceledException)
        {
            _publishes.Forget(sequence);
            throw;
        }
    }

    /// <summary>Publishes a UTF-8 text body and awaits acceptance.</summary>
    public Task<PublishResult> PublishAsync(string channel, string body, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return PublishAsync(channel, Encoding.UTF8.GetBytes(body), options, cancellationToken);
    }

    /// <summary>Publishes <paramref name="value"/> serialized as JSON and awaits acceptance.</summary>
    public Task<PublishResult> PublishJsonAsync<T>(string channel, T value, PublishOptions? options = null, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(value)), options, cancellationToken);

    private Thid EventId(string channel, ulong sequence, ReadOnlySpan<byte> body)
    {
        Span<byte> channelBytes = stackalloc byte[channel.Length];
        Encoding.ASCII.GetBytes(channel, channelBytes);
        return Thid.ForEvent(Id, sequence, channelBytes, body);
    }

    private byte[]? CheckPublish(string channel, int bodyLength, PublishOptions? options)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (Volatile.Read(ref _disposed) != 0)
        {
            ThynapseException.ThrowClosed();
        }

        // Publishers usually reuse one string per channel: validate each instance once.
        if (!ReferenceEquals(channel, Volatile.Read(ref _lastValidChannel)))
        {
            if (!Channel.TryValidate(channel, out var error))
            {
                throw new ArgumentException($"Invalid channel '{channel}': {error}.", nameof(channel));
            }

            if (Channel.IsReserved(channel))
            {
                throw new ArgumentException($"Channel '{channel}' is reserved: channels starting with '$' belong to the transmitters.", nameof(channel));
            }

            Volatile.Write(ref _lastValidChannel, channel);
        }

        byte[]? key = null;
        if (options?.Key is { } keyText)
        {
            key = Encoding.UTF8.GetBytes(keyText);
            if (key.Length is 0 or > 1024)
            {
                throw new ArgumentException("A key has 1 to 1,024 bytes of UTF-8.", nameof(options));
            }
        }

        var frameBytes = FrameHeader.PayloadOffset + EventRecordWriter.SizeOf(channel.Length, key?.Length ?? 0, 0, bodyLength);
        if (frameBytes > Volatile.Read(ref _maxFrameBytes))
        {
            throw new ArgumentException($"The event needs a {frameBytes}-byte frame; the transmitter accepts at most {_maxFrameBytes}.", nameof(bodyLength));
        }

        return key;
    }

    private void WakeForPublishes() => _work.Enqueue(_flushPublishes ??= FlushPublishes);

    private Action? _flushPublishes;

    /// <summary>Socket thread: sends buffered events and acknowledgements while the socket takes them (only while welcomed).</summary>
    private void FlushPublishes()
    {
        if (CurrentState != CellState.Connected)
        {
            return; // kept until the cell is welcomed (again)
        }

        Drain(_acks);
        Drain(_publishes);
    }

    private void Drain(Internal.FrameQueue queue)
    {
        while (_outbox.Count == 0 && queue.TakeNext() is { } batch)
        {
            var item = new Outgoing(null, batch, queue);
            if (!TrySend(item))
            {
                _outbox.Enqueue(item);
                WatchSendReady(true);
                return;
            }
        }
    }
}
