using System.Security.Cryptography;
using System.Text;
using NaCl;
using NetMQ;

namespace Thynapse.Core;

/// <summary>
/// <c>HELO.key</c> (PROTOCOL.md §5.1): a cell proves it holds the CURVE secret key of <see cref="Public"/>. NetMQ's CURVE
/// server forgets the client's long-term key after the handshake, so the cell shows it again inside the encrypted
/// channel: a NaCl <c>crypto_box</c> of <see cref="Context"/> and its THID, sealed with its secret key for the
/// transmitter's public key. Only the holder of the transmitter's secret key can open it, and only the holder of the
/// cell's secret key can have sealed it.
/// </summary>
/// <param name="Public">The cell's CURVE public key, Z85 (40 characters).</param>
/// <param name="Nonce">A random 24-byte nonce.</param>
/// <param name="Box">The sealed context and THID: <see cref="BoxLength"/> bytes.</param>
public sealed record KeyProof(string Public, byte[] Nonce, byte[] Box)
{
    /// <summary>What the box holds before the THID: the proof's purpose and version, so a box made for anything else never passes.</summary>
    public const string Context = "thynapse-hello-key-v1";

    /// <summary>Bytes in <see cref="Nonce"/>.</summary>
    public const int NonceLength = XSalsa20Poly1305.NonceLength;

    /// <summary>Bytes in <see cref="Box"/>: the context, the 20 THID bytes, the 16-byte tag.</summary>
    public const int BoxLength = ContextLength + Thid.ByteLength + XSalsa20Poly1305.TagLength;

    private const int ContextLength = 21;
    private const int MessageLength = ContextLength + Thid.ByteLength;

    /// <summary>A proof for <paramref name="thid"/>, sealed with the cell's key pair for the transmitter's public key (Z85 keys).</summary>
    public static KeyProof Create(string ownSecretKey, string ownPublicKey, string serverPublicKey, Thid thid)
    {
        var own = new NetMQCertificate(ownSecretKey, ownPublicKey);
        var server = NetMQCertificate.FromPublicKey(serverPublicKey);
        var nonce = RandomNumberGenerator.GetBytes(NonceLength);
        var box = new byte[BoxLength];
        using var sealer = new Curve25519XSalsa20Poly1305(own.SecretKey!, server.PublicKey);
        sealer.Encrypt(box, Message(thid), nonce);
        return new KeyProof(own.PublicKeyZ85, nonce, box);
    }

    /// <summary>
    /// True when the proof opens with the transmitter's secret key (Z85) and holds <paramref name="thid"/>; then
    /// <paramref name="publicKey"/> is the cell's public key, 32 bytes.
    /// </summary>
    public bool Verify(string serverSecretKey, Thid thid, out byte[] publicKey) =>
        Verify(NetMQCertificate.CreateFromSecretKey(serverSecretKey).SecretKey!, thid, out publicKey);

    /// <summary><see cref="Verify(string, Thid, out byte[])"/> with the transmitter's secret key as its 32 bytes.</summary>
    public bool Verify(byte[] serverSecretKey, Thid thid, out byte[] publicKey)
    {
        publicKey = NetMQCertificate.FromPublicKey(Public).PublicKey;
        if (Nonce.Length != NonceLength || Box.Length != BoxLength)
        {
            return false;
        }

        Span<byte> opened = stackalloc byte[MessageLength];
        using var opener = new Curve25519XSalsa20Poly1305(serverSecretKey, publicKey);
        return opener.TryDecrypt(opened, Box, Nonce) && CryptographicOperations.FixedTimeEquals(opened, Message(thid));
    }

    /// <summary>The proof without its box, for logs.</summary>
    public override string ToString() => $"KeyProof {{ Public = {Public} }}";

    private static byte[] Message(Thid thid)
    {
        var message = new byte[MessageLength];
        Encoding.ASCII.GetBytes(Context, message);
        thid.WriteTo(message.AsSpan(ContextLength));
        return message;
    }
}
