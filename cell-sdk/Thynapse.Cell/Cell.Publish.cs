using Thynapse.Cell.Internal;
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell;

public sealed partial class Cell
{
    private string? _lastValidChannel;
    private long _unsentAtDisposal;

    /// <summary>
    /// Published events still buffered when the cell was disposed, which could not be sent: it had no session then, or
    /// the transmitter did not take them before disposal stopped waiting. Awaited ones also failed.
    /// </summary>
    public long PublishesUnsentAtDisposal => Interlocked.Read(ref _unsentAtDisposal);
    private RememberedExtras? _lastExtras;

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

        var extras = options is null ? default : ExtrasFor(options);
        var maxFrameBytes = _session.Terms.MaxFrameBytes;
        var largest = EventRecordWriter.LargestBody(maxFrameBytes, channel.Length, extras.Key?.Length ?? 0, extras.Extension?.Length ?? 0);
        if (bodyLength > largest)
        {
            ThrowBodyTooLarge(channel, bodyLength, largest, maxFrameBytes, extras, "body"); // the public methods' parameter
        }

        return extras;
    }

    /// <summary>
    /// The body and its framing share one frame (PROTOCOL.md §8.1), so the limit a publisher meets is less than the
    /// frame limit, by an amount that depends on the channel, key and target: say exactly how much fits.
    /// </summary>
    [DoesNotReturn]
    private static void ThrowBodyTooLarge(string channel, int bodyLength, int largest, int maxFrameBytes, PublishExtras extras, string parameter)
    {
        var with = (extras.Key, extras.Extension) switch
        {
            (null, null) => "",
            ({ } key, null) => $" with a key of {key.Length} bytes",
            (null, { } extension) => $" with a target or service of {extension.Length} bytes",
            ({ } key, { } extension) => $" with a key of {key.Length} bytes and a target or service of {extension.Length} bytes",
        };
        throw new ArgumentException(
            $"A body of {bodyLength} bytes is too large: on channel '{channel}'{with} the largest body is {largest} bytes "
            + $"(the transmitter's frame limit of {maxFrameBytes} bytes, less {maxFrameBytes - largest} bytes of framing; PROTOCOL.md §8.1).",
            parameter);
    }

    /// <summary>The key and extension bytes of some options; callers usually reuse one options object, so it is remembered.</summary>
    private PublishExtras ExtrasFor(PublishOptions options)
    {
        if (Volatile.Read(ref _lastExtras) is { } last && ReferenceEquals(last.Options, options))
        {
            return last.Extras;
        }

        byte[]? key = null;
        if (options.Key is { } keyText)
        {
            key = Encoding.UTF8.GetBytes(keyText);
            if (key.Length is 0 or > 1024)
            {
                throw new ArgumentException("A key has 1 to 1,024 bytes of UTF-8.", nameof(options));
            }
        }

        byte[]? extension = null;
        if (options.Target is not null || options.Service is not null)
        {
            var fields = new JObject();
            if (options.Target is { } target)
            {
                if (!MetadataQuery.TryParse(target, null, out _, out var problem))
                {
                    throw new ArgumentException($"Invalid target: {problem.Message}.", nameof(options));
                }

                fields["target"] = target.DeepClone();
            }

            if (options.Service is { } service)
            {
                if (!ServiceName.TryValidate(service, out var serviceError))
                {
                    throw new ArgumentException($"Invalid service: {serviceError}.", nameof(options));
                }

                fields["service"] = service;
            }

            extension = Encoding.UTF8.GetBytes(fields.ToString(Formatting.None));
        }

        var extras = new PublishExtras(key, extension);
        Volatile.Write(ref _lastExtras, new RememberedExtras(options, extras));
        return extras;
    }

    /// <summary>Any thread: events or acknowledgements were buffered; the socket thread sends them.</summary>
    private void WakeForPublishes() => Work(_flushPublishes ??= _outbox.Flush);

    private Action? _flushPublishes;

    /// <summary>
    /// Disposal, after the socket thread stopped: publishes still buffered could not go out (no session, or the
    /// transmitter did not take them in time). Counted and said; those awaited fail besides.
    /// </summary>
    private void CountUnsentPublishes()
    {
        var unsent = _publishes.UnsentRecords();
        if (unsent > 0)
        {
            Interlocked.Add(ref _unsentAtDisposal, unsent);
            _log.Warning("{Count} published events were still buffered when the cell closed and were not sent (state {State})", unsent, CurrentState);
        }
    }
}

/// <summary>What a publish carries besides channel and body: the key and the extension (target, service).</summary>
internal readonly record struct PublishExtras(byte[]? Key, byte[]? Extension);

/// <summary>The extras last computed, with the options they came from.</summary>
internal sealed record RememberedExtras(PublishOptions Options, PublishExtras Extras);
