using Newtonsoft.Json.Linq;

namespace Thynapse.Cell.Internal;

/// <summary>
/// What the cell says about itself in every <c>HELO</c>: its metadata and tags, kept in step with the changes the
/// transmitter applied (<c>META</c>), in the order it applied them. Any thread: each is an immutable value swapped whole.
/// </summary>
internal sealed class Profile(JObject? metadata, IReadOnlyCollection<string>? tags)
{
    private readonly Lock _gate = new();
    private JObject _metadata = (JObject?)metadata?.DeepClone() ?? [];
    private string[] _tags = tags is null ? [] : [.. tags.Distinct()];

    /// <summary>The metadata now (not to be changed: copy it).</summary>
    public JObject Metadata => Volatile.Read(ref _metadata);

    /// <summary>The tags now.</summary>
    public string[] Tags => Volatile.Read(ref _tags);

    /// <summary>Socket thread, with the <c>OKAY</c> of a <c>META</c>: applies its change (PROTOCOL.md §5.15).</summary>
    public void Apply(JObject change)
    {
        lock (_gate)
        {
            if (change["metadata"] is JObject metadata)
            {
                var replace = change.Value<string>("mode") == "replace";
                var updated = (JObject)(replace ? metadata : _metadata).DeepClone();
                if (!replace)
                {
                    foreach (var (key, value) in metadata)
                    {
                        if (value is null || value.Type == JTokenType.Null)
                        {
                            updated.Remove(key);
                        }
                        else
                        {
                            updated[key] = value.DeepClone();
                        }
                    }
                }

                Volatile.Write(ref _metadata, updated);
            }

            if (change["tags"] is JArray tags)
            {
                Volatile.Write(ref _tags, [.. tags.Values<string>().OfType<string>()]);
            }
        }
    }
}
