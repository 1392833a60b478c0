using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>J ACKN</c>, cell → transmitter (PROTOCOL.md §5.12): deliveries handled: these deliveries were handled.</summary>
/// <param name="Tag"><c>tag</c>: one delivery tag; null when absent.</param>
/// <param name="Tags"><c>tags</c>: more delivery tags; null when absent.</param>
public sealed record AckMessage(ulong? Tag, IReadOnlyList<ulong>? Tags) : TaggedMessage(Tag, Tags)
{
    /// <inheritdoc />
    public override Command Command => Command.Ackn;

    /// <summary>Reads a <c>J ACKN</c> payload as the transmitter does (see <see cref="TaggedMessage"/>).</summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out AckMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, Read, out message, out code, out error);

    private static AckMessage Read(ref JsonFields fields)
    {
        var (tag, tags) = ReadTags(Command.Ackn, ref fields);
        return new AckMessage(tag, tags) { Ref = fields.Ref };
    }
}
