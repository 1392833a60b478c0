using Thynapse.Cell.Internal;
using System.Buffers;
using System.Text;
using Newtonsoft.Json;
using Thynapse.Core;

namespace Thynapse.Cell;

// Publishing verbs; the publish buffer, its checks and the outbox are engines.
public sealed partial class Cell
{
    private readonly PublishChecks _checks = new();

    /// <summary>
    /// Published events still buffered when the cell was disposed, which could not be sent: it had no session then, or
    /// the transmitter did not take them before disposal stopped waiting. Awaited ones also failed.
    /// </summary>
    public long PublishesUnsentAtDisposal => _publishes.UnsentAtClose;

    /// <summary>
    /// Publishes an event and returns at once (fire-and-forget, at most once). A refusal by the transmitter is
    /// reported on <see cref="Notices"/>.
    /// </summary>
    /// <remarks>
    /// The event is copied into the cell's publish buffer; when that buffer is full (the transmitter is not taking
    /// events), this waits for room up to <see cref="CellOptions.PublishTimeout"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">
    /// The channel is invalid or reserved, or the body is larger than fits the transmitter's frame limit with its
    /// framing (the limit less 21 bytes, the channel, key and target; PROTOCOL.md §8.1): the message says how much fits.
    /// </exception>
    /// <exception cref="ThynapseTimeoutException">The publish buffer stayed full.</exception>
    public void Publish(string channel, ReadOnlySpan<byte> body, PublishOptions? options = null)
    {
        var extras = CheckPublish(channel, body.Length, options);
        _publishes.Append(channel, extras.Key, extras.Extension, body, EventRecordFlags.None, null, _options.PublishTimeout);
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
    /// <exception cref="ArgumentException">
    /// The channel is invalid or reserved, or the body is larger than fits the transmitter's frame limit with its
    /// framing (the limit less 21 bytes, the channel, key and target; PROTOCOL.md §8.1): the message says how much fits.
    /// </exception>
    /// <exception cref="ThynapseRejectedException">The transmitter refused the event (for example <c>QUEUE_FULL</c>).</exception>
    /// <exception cref="ThynapseDeadLetteredException">Awaiting completion: a service gave up on the event.</exception>
    /// <exception cref="ThynapseConnectionException">Awaiting acceptance: the session was lost before the transmitter confirmed.</exception>
    /// <exception cref="ThynapseTimeoutException">Awaiting acceptance: no confirmation within <see cref="CellOptions.PublishTimeout"/>.</exception>
    public async Task<PublishResult> PublishAsync(string channel, ReadOnlyMemory<byte> body, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        var extras = CheckPublish(channel, body.Length, options);
        var completion = options?.Await == PublishAwait.Completion;
        var answer = new TaskCompletionSource<PublishAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sequence = _publishes.Append(channel, extras.Key, extras.Extension, body.Span, completion ? EventRecordFlags.Completion : EventRecordFlags.Confirm, answer, _options.PublishTimeout);
        var id = EventId(channel, sequence, body.Span);
        PublishResult result;
        try
        {
            var (status, receivers) = completion
                ? await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false)
                : await answer.Task.WaitAsync(_options.PublishTimeout, cancellationToken).ConfigureAwait(false);
            result = new PublishResult(id, sequence, status, receivers);
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

        return result.Status == PublishStatus.NoReceiver && options?.ThrowOnNoReceiver == true
            ? throw new ThynapseNoReceiverException($"Event #{sequence} on '{channel}' reached no cell.")
            : result;
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

    private PublishExtras CheckPublish(string channel, int bodyLength, PublishOptions? options)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ThrowIfDisposed();
        return _checks.Check(channel, bodyLength, options, _session.Terms.MaxFrameBytes);
    }
}
