using System.Diagnostics.CodeAnalysis;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// <c>TMTR</c>, transmitter → cell (PROTOCOL.md §5.19): the transmitters a cell may fail over to changed; the whole list,
/// as <c>WLCM.transmitters</c> gives it (the sender first, then the mesh's live members), never a difference.
/// </summary>
/// <param name="Transmitters">The known transmitters.</param>
public sealed record TransmittersMessage(IReadOnlyList<TransmitterAddress> Transmitters) : IJsonMessage
{
    /// <inheritdoc />
    public Command Command => Command.Tmtr;

    /// <summary>Reads a <c>TMTR</c>: <c>transmitters</c>, a required array of <c>{"id","command","pub"}</c>.</summary>
    public static bool TryRead(JObject body, [NotNullWhen(true)] out TransmittersMessage? message, [NotNullWhen(false)] out string? error) =>
        MessageFields.TryRead(
            body,
            static (ref JsonFields fields) => new TransmittersMessage(TransmitterAddress.ReadAll(fields.GetArray("transmitters", required: true), ref fields)),
            out message,
            out _,
            out error);

    /// <inheritdoc />
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        TransmitterAddress.WriteAll(writer, Transmitters);
        writer.WriteEndObject();
    }

    /// <summary>The payload as a JSON object.</summary>
    public JObject ToJson() => JsonMessage.ToJson(this);

    /// <summary>The header frame <c>J TMTR {…}</c>.</summary>
    public byte[] ToFrame() => JsonMessage.ToFrame(this);
}
