using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>
/// An event delivered to a cell: its channel, its body and where it came from.
/// </summary>
/// <remarks>
/// A value type: events are copied, not allocated, on their way to observers. <see cref="Body"/> is a slice of a
/// buffer shared with the other events of the same frame; it stays valid for as long as it is referenced — except
/// in a handler (<see cref="Cell.HandleAsync"/>), where it is valid until the handler's task completes.
/// </remarks>
public readonly struct Event
{
    private readonly CellSubscription? _subscription;
    private readonly ulong _tag;
    private readonly Internal.FrameLease? _lease;

    internal Event(
        string channel,
        ReadOnlyMemory<byte> body,
        Thid origin,
        ulong sequence,
        Catch mode,
        int attempt,
        CellSubscription? subscription = null,
        ulong tag = 0,
        DeadLetterInfo? deadLetter = null,
        Internal.FrameLease? lease = null,
        long receivedAt = 0,
        int session = 0)
    {
        _lease = lease;
        ReceivedAt = receivedAt;
        Session = session;
        Channel = channel;
        Body = body;
        Origin = origin;
        Sequence = sequence;
        Mode = mode;
        Attempt = attempt;
        _subscription = subscription;
        _tag = tag;
        DeadLetter = deadLetter;
    }

    /// <summary>The channel the event was delivered on (for a dead letter: <c>$DLQ.&lt;service&gt;</c>).</summary>
    public string Channel { get; }

    /// <summary>The body, as published.</summary>
    /// <remarks>
    /// In a handler: valid until the handler's task completes (the buffer is then reused), and so is what reads it
    /// (<see cref="Id"/>, <see cref="BodyAsString"/>, <see cref="BodyAs{T}"/>); copy it to keep it.
    /// </remarks>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The THID of the cell that published it.</summary>
    public Thid Origin { get; }

    /// <summary>The publisher's sequence number for it.</summary>
    public ulong Sequence { get; }

    /// <summary>How it was caught: by a multicatch or an anycatch subscription.</summary>
    public Catch Mode { get; }

    /// <summary>For anycatch: 1 on the first delivery, more on redeliveries; 0 for multicatch.</summary>
    public int Attempt { get; }

    /// <summary>The session (link number) it was delivered in: its tag means nothing to a later one.</summary>
    internal int Session { get; }

    /// <summary>The delivery tag (anycatch; 0 for multicatch).</summary>
    internal ulong Tag => _tag;

    /// <summary>When an acknowledging delivery arrived (<see cref="Environment.TickCount64"/>; 0 otherwise): its ack deadline counts from here.</summary>
    internal long ReceivedAt { get; }

    /// <summary>For an event on a dead-letter channel: where it came from and why it ended there; otherwise null.</summary>
    public DeadLetterInfo? DeadLetter { get; }

    /// <summary>True when this event must be acknowledged (<see cref="AckAsync"/> or <see cref="NackAsync"/>).</summary>
    public bool RequiresAck => _tag != 0 && _subscription is { Acknowledging: true };

    /// <summary>
    /// The event's THID: the SHA-1 of its origin, sequence, channel and body (computed on each read). For a dead
    /// letter, the THID of the original event.
    /// </summary>
    public Thid Id
    {
        get
        {
            var channel = DeadLetter?.Channel ?? Channel;
            Span<byte> bytes = stackalloc byte[channel.Length];
            Encoding.ASCII.GetBytes(channel, bytes);
            return Thid.ForEvent(Origin, Sequence, bytes, Body.Span);
        }
    }

    /// <summary>
    /// Acknowledges an event of an acknowledging anycatch subscription: it was handled and will not be redelivered.
    /// The cell remembers it for a while, so a redelivered duplicate is acknowledged again without reaching observers.
    /// </summary>
    /// <exception cref="InvalidOperationException">The event was not caught by an acknowledging subscription.</exception>
    public ValueTask AckAsync()
    {
        RequireAck();
        _subscription!.Cell.Acknowledgements.Acknowledge(_tag, Origin, Sequence, Session);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Tells the transmitter that this event is still being handled (<c>PROG</c>): its ack deadline starts again, so it
    /// is not redelivered elsewhere while the work goes on, and a handler's cancellation token is not cancelled at the
    /// old deadline (as JetStream's in-progress acknowledgement and RabbitMQ's long consumers allow).
    /// </summary>
    /// <exception cref="InvalidOperationException">The event was not caught by an acknowledging subscription.</exception>
    public ValueTask InProgressAsync()
    {
        RequireAck();
        _subscription!.Cell.Handlers.InProgress(_subscription, _tag, Session);
        return ValueTask.CompletedTask;
    }

    /// <summary>A handler loop, once the handler has finished with this event: its frame's buffer may be reused.</summary>
    internal void ReturnFrame() => _lease?.Release();

    /// <summary>A handler loop's acknowledgement; <paramref name="quiet"/>: left for the loop to send with the next ones.</summary>
    internal void Acknowledge(bool quiet) => _subscription!.Cell.Acknowledgements.Acknowledge(_tag, Origin, Sequence, Session, quiet);

    /// <summary>Refuses an event of an acknowledging anycatch subscription: the transmitter redelivers it elsewhere (or dead-letters it).</summary>
    /// <exception cref="InvalidOperationException">The event was not caught by an acknowledging subscription.</exception>
    public ValueTask NackAsync(string? reason = null)
    {
        RequireAck();
        _subscription!.Cell.Acknowledgements.Refuse(_tag, reason, Session);
        return ValueTask.CompletedTask;
    }

    /// <summary>The body decoded as UTF-8.</summary>
    public string BodyAsString() => Encoding.UTF8.GetString(Body.Span);

    /// <summary>The body parsed as JSON.</summary>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    public JToken BodyAsJson() => JToken.Parse(BodyAsString());

    /// <summary>The body deserialized from JSON with Newtonsoft.Json.</summary>
    /// <exception cref="JsonException">The body is not JSON of that shape.</exception>
    public T? BodyAs<T>() => JsonConvert.DeserializeObject<T>(BodyAsString());

    /// <inheritdoc />
    public override string ToString() => $"{Channel} ({Body.Length} bytes, {Mode}) from {Origin}#{Sequence}";

    private void RequireAck()
    {
        if (!RequiresAck)
        {
            throw new InvalidOperationException(
                "Only events of acknowledging anycatch subscriptions are acknowledged (SubscriptionOptions.Acknowledge, or Cell.HandleAsync).");
        }
    }
}

/// <summary>Why an event was dead-lettered (PROTOCOL.md §4.5).</summary>
/// <param name="Channel">The channel it was published on.</param>
/// <param name="Service">The service that gave up on it.</param>
/// <param name="Attempts">Deliveries made to that service.</param>
/// <param name="Reason">What ended the last attempt.</param>
public sealed record DeadLetterInfo(string Channel, string Service, int Attempts, string Reason)
{
    /// <summary>The details a delivery carried (<c>DLVR.deadLetter</c>, or a <c>B DLVR</c> record's extension); null for none.</summary>
    internal static DeadLetterInfo? Of(DeadLetterDetails? details) =>
        details is null ? null : new DeadLetterInfo(details.Channel, details.Service, details.Attempts, details.Reason);
}
