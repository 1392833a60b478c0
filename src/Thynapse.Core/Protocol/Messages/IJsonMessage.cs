using Newtonsoft.Json;

namespace Thynapse.Core;

/// <summary>
/// A <c>J</c> command's payload as a type (PROTOCOL.md §2.1, §5): one implementation per command, read and written by
/// both sides, so that the field names, their order and which ones are left out live in one place.
/// </summary>
public interface IJsonMessage
{
    /// <summary>The command the payload belongs to (the header frame's four letters).</summary>
    Command Command { get; }

    /// <summary>Writes the payload object, fields in wire order, optional ones left out when absent.</summary>
    void WriteJson(JsonWriter writer);
}
