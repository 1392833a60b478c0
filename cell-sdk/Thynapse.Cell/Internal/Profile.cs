using Newtonsoft.Json.Linq;
using Thynapse.Core;

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
    public void Apply(MetadataMessage change)
    {
        lock (_gate)
        {
            if (change.Metadata is not null)
            {
                Volatile.Write(ref _metadata, change.Apply(_metadata)); // a new object: readers keep the one they have
            }

            if (change.Tags is { } tags)
            {
                Volatile.Write(ref _tags, [.. tags]);
            }
        }
    }
}
