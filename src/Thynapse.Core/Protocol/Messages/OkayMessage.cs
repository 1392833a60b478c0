using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>OKAY</c>, transmitter → cell (PROTOCOL.md §5.7): <c>SUBS</c>, <c>UNSB</c>, <c>META</c>, <c>LIST</c>, <c>WTCH</c> or
/// <c>UNWT</c> succeeded, with what that command answers.
/// </summary>
/// <param name="Answers">The command it answers (<c>command</c>).</param>
public sealed record OkayMessage(Command Answers) : JsonRequest
{
    /// <summary><c>sub</c>: for <c>SUBS</c> and <c>UNSB</c>.</summary>
    public uint? Sub { get; init; }

    /// <summary><c>watch</c>: for <c>WTCH</c> and <c>UNWT</c>.</summary>
    public uint? Watch { get; init; }

    /// <summary><c>cells</c>: for <c>LIST</c> and <c>WTCH</c>, the cells matching now.</summary>
    public IReadOnlyList<CellDescription>? Cells { get; init; }


    /// <inheritdoc />
    public override Command Command => Command.Okay;

    /// <summary>
    /// Reads an <c>OKAY</c>: <c>command</c> required (a command of protocol v1); <c>sub</c>, <c>watch</c>, <c>cells</c>,
    /// <c>ref</c> as present.
    /// </summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out OkayMessage? message, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(body, Read, out message, out _, out error);

    private static OkayMessage Read(ref JsonFields fields)
    {
        var commandText = fields.GetString("command", required: true);
        var answers = commandText is { Length: 4 } ? CommandNames.Parse(System.Text.Encoding.ASCII.GetBytes(commandText)) : Command.Unknown;
        if (fields.Error is null && answers == Command.Unknown)
        {
            fields.Invalid($"field 'command' must name a command, not \"{commandText}\"");
        }

        var sub = fields.GetUInt32("sub");
        var watch = fields.GetUInt32("watch");
        var cells = CellDescription.ReadAll(ref fields, "cells");
        return new OkayMessage(answers) { Sub = sub, Watch = watch, Cells = cells, Ref = fields.Ref };
    }

    /// <inheritdoc />
    /// <remarks>The transmitter's order: command, sub, watch, cells, ref.</remarks>
    protected override void WriteFields(JsonWriter writer)
    {
        MessageFields.Write(writer, "command", CommandNames.Of(Answers));
        MessageFields.WriteIfPresent(writer, "sub", Sub);
        MessageFields.WriteIfPresent(writer, "watch", Watch);
        if (Cells is not null)
        {
            MessageFields.WriteArray(writer, "cells", Cells, static (json, cell) => cell.WriteJson(json));
        }

        MessageFields.WriteRef(writer, Ref);
    }
}
