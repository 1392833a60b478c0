using System.Security.Cryptography;
using System.Text;
using Thynapse.Core;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// A transmitter's claim on a cell (PROTOCOL.md §12.8, "Claims"): the claim's <see cref="Generation"/>, the
/// <see cref="Owner"/> that made it, and the <see cref="Proof"/> of the cell's resume token. A cell is live on one
/// transmitter only: of two claims the higher generation wins (equal generations: the higher owner THID), and the loser
/// ends its session. Each new owner takes a generation above every claim it knows and at least its wall clock in
/// milliseconds, so that an owner that knew of no earlier claim still outranks one made before it.
/// </summary>
/// <param name="Generation">The claim's generation.</param>
/// <param name="Owner">The transmitter that made it.</param>
/// <param name="Proof">SHA-256 of the cell's THID and its resume token, hex (never the token itself).</param>
internal readonly record struct CellClaim(long Generation, Thid Owner, string Proof)
{
    /// <summary>True when this claim wins over <paramref name="other"/>.</summary>
    public bool Supersedes(CellClaim other) => Generation != other.Generation
        ? Generation > other.Generation
        : string.CompareOrdinal(Owner.ToString(), other.Owner.ToString()) > 0;

    /// <summary>The generation a new owner takes: above <paramref name="held"/> (the highest claim it knows, if any), at least <paramref name="nowMs"/>.</summary>
    public static long Next(long? held, long nowMs) => Math.Max((held ?? 0) + 1, Math.Max(1, nowMs));

    /// <summary>The proof of <paramref name="token"/> for <paramref name="cell"/>: SHA-256 over the THID's 20 bytes and the token's ASCII, lowercase hex.</summary>
    public static string ProofOf(Thid cell, string token)
    {
        var bytes = new byte[Thid.ByteLength + Encoding.ASCII.GetByteCount(token)];
        cell.ToByteArray().CopyTo(bytes, 0);
        Encoding.ASCII.GetBytes(token, bytes.AsSpan(Thid.ByteLength));
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>True when <paramref name="token"/> is the token this claim's proof was made from (compared in constant time).</summary>
    public bool ProvenBy(Thid cell, string? token) => token is not null && Proof.Length > 0 && CryptographicOperations.FixedTimeEquals(
        Encoding.ASCII.GetBytes(ProofOf(cell, token)), Encoding.ASCII.GetBytes(Proof));
}
