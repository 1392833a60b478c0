using System.Buffers;
using Thynapse.Core;

namespace Thynapse.Transmitter.Reliability;

/// <summary>
/// An event the transmitter keeps because an acknowledging anycatch delivery of it is in flight or queued: its
/// origin, channel and a pooled copy of its body, shared by the deliveries to each service and returned to the
/// pool when the last of them ends.
/// </summary>
internal sealed class PendingEvent
{
    private byte[]? _body;
    private int _references;

    public PendingEvent(byte[] originId, Thid origin, ulong sequence, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> body, DeadLetter? deadLetter)
    {
        OriginId = originId;
        Origin = origin;
        Sequence = sequence;
        Channel = channel.ToArray();
        BodyLength = body.Length;
        _body = ArrayPool<byte>.Shared.Rent(Math.Max(1, body.Length));
        body.CopyTo(_body);
        DeadLetter = deadLetter;
    }

    public byte[] OriginId { get; }

    public Thid Origin { get; }

    public ulong Sequence { get; }

    public byte[] Channel { get; }

    public int BodyLength { get; }

    public ReadOnlySpan<byte> Body => _body.AsSpan(0, BodyLength);

    /// <summary>Set when this event is itself a dead letter (it is never dead-lettered again).</summary>
    public DeadLetter? DeadLetter { get; }

    /// <summary>Who may receive it beyond its channel (query, service, key); redeliveries honour it too.</summary>
    public Routing.EventTarget Target { get; init; }

    /// <summary>The publisher waiting for this event's completion, if it asked.</summary>
    public CompletionWaiter? Completion { get; set; }

    public void AddReference() => _references++;

    public void Release()
    {
        if (--_references == 0 && _body is not null)
        {
            ArrayPool<byte>.Shared.Return(_body);
            _body = null;
        }
    }
}

/// <summary>Why an event went to a dead-letter channel; travels with it as the delivery's extension (PROTOCOL.md §4.5).</summary>
/// <param name="Channel">The channel it was published on.</param>
/// <param name="Service">The service that gave up on it.</param>
/// <param name="Attempts">Deliveries made.</param>
/// <param name="Reason">What ended the last attempt.</param>
internal sealed record DeadLetter(string Channel, string Service, int Attempts, string Reason)
{
    private byte[]? _extension;

    /// <summary>The channel dead letters of <paramref name="service"/> are published on.</summary>
    public static string ChannelFor(string service) => $"$DLQ.{service}";

    /// <summary>The extension object of the delivery, UTF-8 JSON.</summary>
    public byte[] Extension => _extension ??= System.Text.Encoding.UTF8.GetBytes(new Newtonsoft.Json.Linq.JObject
    {
        ["deadLetter"] = new Newtonsoft.Json.Linq.JObject
        {
            ["channel"] = Channel,
            ["service"] = Service,
            ["attempts"] = Attempts,
            ["reason"] = Reason,
        },
    }.ToString(Newtonsoft.Json.Formatting.None));
}
