using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>WTCH</c>, cell → transmitter (PROTOCOL.md §5.17): the cells matching a filter now (in the <c>OKAY</c>), and a
/// <c>CELL</c> notice for every change from then on.
/// </summary>
/// <param name="Watch">The watch's id, chosen by the cell.</param>
/// <param name="Filter">Which cells.</param>
public sealed record WatchMessage(uint Watch, DiscoveryFilter Filter) : JsonRequest
{
    /// <inheritdoc />
    public override Command Command => Command.Wtch;

    /// <summary>
    /// Reads a <c>WTCH</c> payload as the transmitter does: <c>watch</c> first, then the filter (see
    /// <see cref="DiscoveryFilter"/>); a bad <c>watch</c> is reported before a bad query. Whether the id is taken and
    /// the cell's limit of watches depend on the session.
    /// </summary>
    public static bool TryRead(
        JObject body,
        MessageLimits limits,
        [NotNullWhen(true)] out WatchMessage? message,
        out ThynapseErrorCode code,
        [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, limits, Read, out message, out code, out error);

    /// <inheritdoc />
    /// <remarks>The SDK's order: the filter's fields, then watch, then ref.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        Filter.WriteFields(writer);
        MessageFields.Write(writer, "watch", Watch);
        MessageFields.WriteRef(writer, Ref);
    }

    private static WatchMessage? Read(ref JsonFields fields)
    {
        var id = fields.GetUInt32("watch", required: true);
        return DiscoveryFilter.Read(ref fields) is { } filter ? new WatchMessage(id!.Value, filter) { Ref = fields.Ref } : null;
    }
}
