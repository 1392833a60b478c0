using Thynapse.Core;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Who an event may reach beyond its channel (PROTOCOL.md §4.6): a metadata query, a service, and a key for sticky
/// anycatch. The default admits everybody.
/// </summary>
internal readonly struct EventTarget(MetadataQuery? query, string? service, ulong keyHash, bool hasKey)
{
    /// <summary>The metadata query receivers must match (its selector, if any, picks one cell per service).</summary>
    public MetadataQuery? Query { get; } = query;

    /// <summary>The only service that may receive the event.</summary>
    public string? Service { get; } = service;

    /// <summary>Hash of the key (valid when <see cref="HasKey"/>).</summary>
    public ulong KeyHash { get; } = keyHash;

    public bool HasKey { get; } = hasKey;

    /// <summary>True when nothing narrows the receivers (the fast path).</summary>
    public bool IsOpen => Query is null && Service is null && !HasKey;

    /// <summary>True when <paramref name="cell"/> may receive the event.</summary>
    public bool Admits(Receiver cell) =>
        (Service is null || string.Equals(cell.Service, Service, StringComparison.Ordinal)) && (Query is null || Query.Matches(cell.Metadata));

    /// <summary>The target an event's <c>target</c> and <c>service</c> name, read by <see cref="EventExtension.TryRead"/>.</summary>
    public static EventTarget Of(in EventExtension extension) => new(extension.Query, extension.Service, 0, false);

    public EventTarget WithKey(ReadOnlySpan<byte> key) => key.IsEmpty ? this : new EventTarget(Query, Service, Chooser.HashKey(key), true);
}
