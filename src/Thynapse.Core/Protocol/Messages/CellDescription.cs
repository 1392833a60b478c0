using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>A cell as discovery describes it (PROTOCOL.md §5.16): in <c>OKAY.cells</c> and in <c>CELL.cell</c>.</summary>
/// <param name="Id">The cell's THID.</param>
/// <param name="Service">Its service.</param>
/// <param name="Tags">Its tags.</param>
/// <param name="Metadata">Its metadata.</param>
/// <param name="Transmitter">The THID of the transmitter it is connected to.</param>
public sealed record CellDescription(Thid Id, string Service, IReadOnlyList<string> Tags, JObject Metadata, Thid Transmitter)
{
    /// <summary>Reads a cell description: every field required.</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out CellDescription? cell, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, Read, out cell, out _, out error);

    /// <summary>Writes the description: id, service, tags, metadata, transmitter.</summary>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        MessageFields.Write(writer, "id", Id.ToString());
        MessageFields.Write(writer, "service", Service);
        MessageFields.WriteStrings(writer, "tags", Tags);
        MessageFields.Write(writer, "metadata", Metadata);
        MessageFields.Write(writer, "transmitter", Transmitter.ToString());
        writer.WriteEndObject();
    }

    /// <summary>The description as a JSON object.</summary>
    public JObject ToJson() => JsonMessage.ToJson(WriteJson);

    /// <summary>Reads the array <paramref name="name"/> of descriptions; null when absent. <paramref name="fields"/> holds the first problem.</summary>
    internal static List<CellDescription>? ReadAll(ref JsonFields fields, string name)
    {
        var array = fields.GetArray(name);
        if (array is null)
        {
            return null;
        }

        var cells = new List<CellDescription>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JObject entry)
            {
                fields.Invalid($"{name}[{i}] must be an object");
                return null;
            }

            if (MessageFields.ReadObject(entry, ref fields, $"{name}[{i}]: ", Read) is not { } cell)
            {
                return null;
            }

            cells.Add(cell);
        }

        return cells;
    }

    /// <summary>A cell's fields: null with the problem in <paramref name="fields"/>.</summary>
    internal static CellDescription? Read(ref JsonFields fields)
    {
        var id = fields.GetThid("id", required: true);
        var service = fields.GetString("service", required: true);
        var tags = MessageFields.ReadStrings(fields.GetArray("tags", required: true), ref fields, "field 'tags' must be an array of strings");
        var metadata = fields.GetObject("metadata", required: true);
        var transmitter = fields.GetThid("transmitter", required: true);
        return fields.Error is null ? new CellDescription(id, service!, tags!, metadata!, transmitter) : null;
    }
}
