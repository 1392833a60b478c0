using Thynapse.Core;
using Thynapse.Transmitter.Reliability;

namespace Thynapse.Transmitter.Routing;

/// <summary>An event on its way through the router: who published it, where, and what, read in place.</summary>
/// <param name="OriginId">The publisher's THID in its 20-byte form.</param>
/// <param name="Origin">The publisher's THID.</param>
/// <param name="Sequence">The publisher's sequence number.</param>
/// <param name="Channel">The channel, ASCII.</param>
/// <param name="Body">The body.</param>
/// <param name="DeadLetter">Why the event is a dead letter; null for most events.</param>
/// <param name="OriginToken">An object standing for the origin (equal tokens, equal origins): lets batches leave repeats out.</param>
/// <param name="ChannelToken">An object standing for the channel, likewise.</param>
internal readonly ref struct EventData(
    ReadOnlySpan<byte> OriginId,
    Thid Origin,
    ulong Sequence,
    ReadOnlySpan<byte> Channel,
    ReadOnlySpan<byte> Body,
    DeadLetter? DeadLetter,
    object OriginToken,
    object ChannelToken)
{
    public object OriginToken { get; } = OriginToken;

    public object ChannelToken { get; } = ChannelToken;

    public ReadOnlySpan<byte> OriginId { get; } = OriginId;

    public Thid Origin { get; } = Origin;

    public ulong Sequence { get; } = Sequence;

    public ReadOnlySpan<byte> Channel { get; } = Channel;

    public ReadOnlySpan<byte> Body { get; } = Body;

    public DeadLetter? DeadLetter { get; } = DeadLetter;

    /// <summary>The delivery's extension JSON (a dead letter's details, §6.2); empty for most events.</summary>
    public ReadOnlySpan<byte> Extension => DeadLetter is null ? default : DeadLetter.Extension;
}
