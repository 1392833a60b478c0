using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary><c>LIST</c>, cell → transmitter (PROTOCOL.md §5.16): the cells matching a filter, now (answered by <c>OKAY</c> with <c>cells</c>).</summary>
/// <param name="Filter">Which cells.</param>
public sealed record ListMessage(DiscoveryFilter Filter) : JsonRequest
{
    /// <inheritdoc />
    public override Command Command => Command.List;

    /// <summary>Reads a <c>LIST</c> payload as the transmitter does (see <see cref="DiscoveryFilter"/>).</summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out ListMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, static (ref JsonFields fields) => DiscoveryFilter.Read(ref fields) is { } filter ? new ListMessage(filter) { Ref = fields.Ref } : null, out message, out code, out error);

    /// <inheritdoc />
    protected override void WriteFields(JsonWriter writer)
    {
        Filter.WriteFields(writer);
        MessageFields.WriteRef(writer, Ref);
    }
}
