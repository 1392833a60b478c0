using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>J PROG</c>, cell → transmitter (PROTOCOL.md §5.13a): deliveries in progress: their ack deadlines start again.</summary>
/// <param name="Tag"><c>tag</c>: one delivery tag; null when absent.</param>
/// <param name="Tags"><c>tags</c>: more delivery tags; null when absent.</param>
public sealed record ProgressMessage(ulong? Tag, IReadOnlyList<ulong>? Tags) : TaggedMessage(Tag, Tags)
{
    /// <inheritdoc />
    public override Command Command => Command.Prog;

    /// <summary>Reads a <c>J PROG</c> payload as the transmitter does (see <see cref="TaggedMessage"/>).</summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out ProgressMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, Read, out message, out code, out error);

    private static ProgressMessage Read(ref JsonFields fields)
    {
        var (tag, tags) = ReadTags(Command.Prog, ref fields);
        return new ProgressMessage(tag, tags) { Ref = fields.Ref };
    }
}
