using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>What happened to a watched cell (PROTOCOL.md §5.17).</summary>
public enum CellChange
{
    /// <summary><c>joined</c>: it started to match (it joined, or changed to match).</summary>
    Joined = 0,

    /// <summary><c>updated</c>: it changed while matching.</summary>
    Updated = 1,

    /// <summary><c>left</c>: it stopped matching (it left, died, or changed not to match).</summary>
    Left = 2,
}

/// <summary><c>CELL</c>, transmitter → cell (PROTOCOL.md §5.17): a watched cell joined, changed or left.</summary>
/// <param name="Watch">The watch's id.</param>
/// <param name="Change">What happened.</param>
/// <param name="Cell">The cell, as it is now (as it was last, when it left).</param>
public sealed record CellChangeMessage(uint Watch, CellChange Change, CellDescription Cell) : JsonRecord
{
    /// <inheritdoc />
    public override Command Command => Command.Cell;

    /// <summary>The wire name of a change: <c>joined</c>, <c>updated</c> or <c>left</c>.</summary>
    public static string NameOf(CellChange change) => change switch
    {
        CellChange.Joined => "joined",
        CellChange.Left => "left",
        _ => "updated",
    };

    /// <summary>
    /// True when <paramref name="body"/>'s <c>change</c> is a string that names none of the kinds this version knows: a
    /// notice of a later protocol version, which a receiver ignores (PROTOCOL.md §5.17), rather than a malformed one.
    /// </summary>
    public static bool IsOfUnknownKind(JObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return body.TryGetValue("change", StringComparison.Ordinal, out var change)
            && change.Type == JTokenType.String
            && (string?)change is not ("joined" or "updated" or "left");
    }

    /// <summary>Reads a <c>CELL</c>: <c>watch</c>, <c>change</c> and <c>cell</c> required (see <see cref="IsOfUnknownKind"/> for a change it does not know).</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out CellChangeMessage? message, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, Read, out message, out _, out error);

    /// <inheritdoc />
    /// <remarks>The transmitter's order: watch, change, cell.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "watch", Watch);
        MessageFields.Write(writer, "change", NameOf(Change));
        writer.WritePropertyName("cell");
        Cell.WriteJson(writer);
    }

    private static CellChangeMessage? Read(ref JsonFields fields)
    {
        var watch = fields.GetUInt32("watch", required: true);
        var changeText = fields.GetString("change", required: true);
        var cellField = fields.GetObject("cell", required: true);
        CellChange? change = changeText switch
        {
            "joined" => CellChange.Joined,
            "updated" => CellChange.Updated,
            "left" => CellChange.Left,
            _ => null,
        };
        if (fields.Error is null && change is null)
        {
            fields.Invalid("field 'change' must be \"joined\", \"updated\" or \"left\"");
        }

        var cell = fields.Error is null ? MessageFields.ReadObject(cellField!, ref fields, "cell: ", CellDescription.Read) : null;
        return cell is null ? null : new CellChangeMessage(watch!.Value, change!.Value, cell);
    }
}
