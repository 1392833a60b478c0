using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// What a cell is, as every transmitter of a mesh will know it: its THID, service, metadata, tags and subscriptions.
/// Nothing about how it is reached: a local cell adds its connection (<see cref="LocalCell"/>), a cell of another
/// transmitter will add the link to that transmitter. Routing thread only.
/// </summary>
internal sealed class CellProfile(Thid id, string service)
{
    public Thid Id { get; } = id;

    /// <summary>The 20-byte form of <see cref="Id"/>, copied into every delivery this cell publishes.</summary>
    public byte[] IdBytes { get; } = id.ToByteArray();

    /// <summary>64 bits of the (random) THID, for rendezvous hashing of keys.</summary>
    public ulong IdHash => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(IdBytes);

    public string Service { get; } = service;

    /// <summary>The cell's metadata, which targeted events and discovery filters match (PROTOCOL.md §4.6); replaced whole, never edited.</summary>
    public JObject Metadata { get; set; } = [];

    /// <summary>The cell's tags, for discovery.</summary>
    public string[] Tags { get; set; } = [];

    /// <summary>The generation of its owner's claim on it (PROTOCOL.md §12.8, "Claims"; 0: none made).</summary>
    public long Claim { get; set; }

    /// <summary>The proof of its resume token (<see cref="CellClaim.ProofOf"/>): replicated, never shown by discovery.</summary>
    public string Proof { get; set; } = "";

    /// <summary>Its subscriptions by the id the cell chose.</summary>
    public Dictionary<uint, Subscription> Subscriptions { get; } = [];
}
