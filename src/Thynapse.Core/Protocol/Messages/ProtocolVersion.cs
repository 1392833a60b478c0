namespace Thynapse.Core;

/// <summary>The protocol version (PROTOCOL.md §10): <c>HELO.protocol</c> and <c>WLCM.protocol</c>.</summary>
public static class ProtocolVersion
{
    /// <summary>The version this code speaks, and the only one: PROTOCOL.md is version 1.</summary>
    public const int Current = 1;
}
