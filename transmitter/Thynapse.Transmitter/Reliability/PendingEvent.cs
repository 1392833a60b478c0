using System.Buffers;
using Thynapse.Core;

namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// An event the transmitter keeps because an acknowledging anycatch delivery of it is in flight or queued: its
/// origin, channel and a copy of its body, shared by the deliveries to each service. Recycled (see
/// <see cref="ReliabilityPool"/>) when the last of them ends.
/// </summary>
internal sealed class PendingEvent
{
    /// <summary>Bodies up to this size stay with the (pooled) event for the next one; larger ones go back to the shared pool.</summary>
    private const int KeptBodyBytes = 4096;

    private const int MinBodyBytes = 128;

    // The body buffer belongs to this object and is reused with it: a queue of thousands of events would outgrow
    // ArrayPool.Shared's few arrays per size, and every rent past them was a fresh, zeroed allocation (measured: a
    // fifth of the routing thread in memset and page faults under acknowledged anycatch).
    private byte[]? _body;
    private int _references;
    private bool _live;

    /// <summary>The publisher's 20-byte THID (shared with its session: never written).</summary>
    public byte[] OriginId { get; private set; } = [];

    public Thid Origin { get; private set; }

    public ulong Sequence { get; private set; }

    /// <summary>The channel's bytes (shared with the route table: never written).</summary>
    public byte[] Channel { get; private set; } = [];

    public int BodyLength { get; private set; }

    public ReadOnlySpan<byte> Body => _body.AsSpan(0, BodyLength);

    /// <summary>Set when this event is itself a dead letter (it is never dead-lettered again).</summary>
    public DeadLetter? DeadLetter { get; private set; }

    /// <summary>Who may receive it beyond its channel (query, service, key); redeliveries honour it too.</summary>
    public Routing.EventTarget Target { get; private set; }

    /// <summary>The publisher waiting for this event's completion, if it asked.</summary>
    public CompletionWaiter? Completion { get; private set; }

    /// <summary>A resend (PROTOCOL.md §4.5): every attempt, redeliveries too, goes to acknowledging subscriptions only.</summary>
    public bool Resend { get; private set; }

    public void Init(byte[] originId, Thid origin, ulong sequence, byte[] channel, ReadOnlySpan<byte> body, DeadLetter? deadLetter, in Routing.EventTarget target, CompletionWaiter? completion, bool resend)
    {
        OriginId = originId;
        Origin = origin;
        Sequence = sequence;
        Channel = channel;
        BodyLength = body.Length;
        if (_body is null || _body.Length < body.Length)
        {
            _body = body.Length <= KeptBodyBytes
                ? GC.AllocateUninitializedArray<byte>(Math.Max(MinBodyBytes, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)body.Length)))
                : ArrayPool<byte>.Shared.Rent(body.Length);
        }

        body.CopyTo(_body);
        DeadLetter = deadLetter;
        Target = target;
        Completion = completion;
        Resend = resend;
        _references = 0;
        _live = true;
    }

    public void AddReference() => _references++;

    /// <summary>Drops one delivery's hold; true when it was the last (the event may be recycled).</summary>
    public bool Release()
    {
        if (--_references > 0 || !_live)
        {
            return false;
        }

        _live = false;
        if (_body is { Length: > KeptBodyBytes } large)
        {
            ArrayPool<byte>.Shared.Return(large);
            _body = null;
        }

        BodyLength = 0;
        DeadLetter = null;
        Completion = null;
        Target = default;
        return true;
    }
}

/// <summary>
/// Why an event went to a dead-letter channel (<see cref="DeadLetterDetails"/>); travels with it as the delivery's
/// extension (PROTOCOL.md §4.5, §6.2), made once however many cells the dead letter is offered to.
/// </summary>
internal sealed class DeadLetter(DeadLetterDetails details)
{
    private byte[]? _extension;

    public DeadLetterDetails Details { get; } = details;

    /// <summary>The extension object of the delivery, <c>{"deadLetter":{…}}</c> as compact UTF-8 JSON.</summary>
    public byte[] Extension => _extension ??= Details.ToExtension();
}
