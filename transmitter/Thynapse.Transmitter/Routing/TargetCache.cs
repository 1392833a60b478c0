using Thynapse.Core;
using Thynapse.Core.Internal;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Compiled targets by the bytes of the JSON that carried them (a binary record's extension), so that a
/// publisher sending the same target again and again pays for one compilation. Bounded: past its size the cache
/// starts over.
/// </summary>
internal sealed class TargetCache(MessageLimits limits)
{
    private const int Capacity = 4096;
    private readonly Dictionary<byte[], EventTarget> _targets = new(ByteArrayComparer.Instance);

    /// <summary>The target in an extension object (<c>target</c>, <c>service</c>), or an error naming the problem.</summary>
    public bool TryGet(ReadOnlySpan<byte> extension, out EventTarget target, out ThynapseErrorCode code, out string? error)
    {
        code = ThynapseErrorCode.None;
        error = null;
        if (_targets.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(extension, out target))
        {
            return true;
        }

        if (!JsonPayload.TryParse(extension, out var json, out error))
        {
            code = ThynapseErrorCode.InvalidJson;
            error = $"extension: {error}";
            return false;
        }

        if (!EventExtension.TryRead(json, limits, out var read, out code, out error))
        {
            return false;
        }

        target = EventTarget.Of(read);

        if (_targets.Count >= Capacity)
        {
            _targets.Clear();
        }

        _targets[extension.ToArray()] = target;
        return true;
    }
}
