using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// A <c>J</c> message that is a class (those read or written once per command, not per event): what every one of them
/// has, its payload object and its header frame, both made by its one <see cref="WriteJson"/>.
/// </summary>
public abstract record JsonRecord : IJsonMessage
{
    /// <inheritdoc />
    public abstract Command Command { get; }

    /// <inheritdoc />
    /// <remarks>The object around the fields is the same for every message; the fields are its <see cref="WriteFields"/>.</remarks>
    public void WriteJson(JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        WriteFields(writer);
        writer.WriteEndObject();
    }

    /// <summary>Writes the payload's fields, in wire order, optional ones left out when absent.</summary>
    protected abstract void WriteFields(JsonWriter writer);

    /// <summary>The payload as a JSON object.</summary>
    public JObject ToJson() => JsonMessage.ToJson(this);

    /// <summary>The header frame <c>J CMND {…}</c> (a <c>DLVR</c>'s or <c>EVNT</c>'s body goes in a second frame).</summary>
    public byte[] ToFrame() => JsonMessage.ToFrame(this);
}

/// <summary>A <see cref="JsonRecord"/> that carries a <c>ref</c> (PROTOCOL.md §5): a request, or an answer that copies it.</summary>
public abstract record JsonRequest : JsonRecord
{
    /// <summary>The request's <c>ref</c> (a number or a string): copied into its answer or refusal; null when absent.</summary>
    public JValue? Ref { get; init; }
}
