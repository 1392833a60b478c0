using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// A cell welcomed on this transmitter: its profile, its connection (routing id, resume token, liveness) and its
/// output (<see cref="OutputState"/>). Owned by the routing thread.
/// </summary>
internal sealed class LocalCell(byte[] routingId, CellProfile profile, bool acceptsBinary, string resumeToken, long now) : Receiver(profile)
{
    /// <summary>The ROUTER routing id of the cell's current connection.</summary>
    public byte[] RoutingId { get; } = routingId;

    /// <summary>True when the cell said it reads <c>B DLVR</c> / <c>B ACPT</c>; otherwise it gets <c>J</c> frames.</summary>
    public bool AcceptsBinary { get; } = acceptsBinary;

    /// <summary>The secret that lets a reconnecting cell take this session over (PROTOCOL.md §5.1).</summary>
    public string ResumeToken { get; } = resumeToken;

    /// <summary>When a command last came from the cell (routing time).</summary>
    public long LastSeen { get; set; } = now;

    /// <summary>The highest seq seen from this cell; events published without a <c>seq</c> get the next one.</summary>
    public ulong AutoSequence { get; set; }

    /// <summary>The cell's allowance under <see cref="TransmitterOptions.MaxPublishRate"/> (a field: taken in place).</summary>
    public PublishBucket Publishing;

    /// <summary>What waits to be sent to the cell, and how its output fares.</summary>
    public OutputState Output { get; } = new();

    /// <summary>Why the session ended (once <see cref="Receiver.Closed"/>).</summary>
    public SessionEnd EndedBy { get; set; }

    /// <summary>When the session ended (routing time, once <see cref="Receiver.Closed"/>).</summary>
    public long EndedAt { get; set; }
}
