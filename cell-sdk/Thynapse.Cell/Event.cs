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
/// buffer shared with the other events of the same frame; it stays valid for as long as it is referenced.
/// </remarks>
public readonly struct Event
{
    internal Event(string channel, ReadOnlyMemory<byte> body, Thid origin, ulong sequence, Catch mode, int attempt)
    {
        Channel = channel;
        Body = body;
        Origin = origin;
        Sequence = sequence;
        Mode = mode;
        Attempt = attempt;
    }

    /// <summary>The channel the event was published on.</summary>
    public string Channel { get; }

    /// <summary>The body, as published.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The THID of the cell that published it.</summary>
    public Thid Origin { get; }

    /// <summary>The publisher's sequence number for it.</summary>
    public ulong Sequence { get; }

    /// <summary>How it was caught: by a multicatch or an anycatch subscription.</summary>
    public Catch Mode { get; }

    /// <summary>For anycatch: 1 on the first delivery, more on redeliveries; 0 for multicatch.</summary>
    public int Attempt { get; }

    /// <summary>The event's THID: the SHA-1 of its origin, sequence, channel and body (computed on each read).</summary>
    public Thid Id
    {
        get
        {
            Span<byte> channel = stackalloc byte[Channel.Length];
            Encoding.ASCII.GetBytes(Channel, channel);
            return Thid.ForEvent(Origin, Sequence, channel, Body.Span);
        }
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
}
