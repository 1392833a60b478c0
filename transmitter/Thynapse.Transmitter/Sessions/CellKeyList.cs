using System.Security.Cryptography;
using NetMQ;
using Thynapse.Core;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// The allow-list of cell CURVE keys (<see cref="TransmitterOptions.AllowedCellKeys"/>, PROTOCOL.md §5.1): a <c>HELO</c>
/// must carry a <c>key</c> proof that opens with the transmitter's secret key, for its own THID, of a listed key. Every
/// listed key is compared, each in constant time. Routing thread only.
/// </summary>
internal sealed class CellKeyList
{
    private readonly byte[]? _serverSecret;
    private readonly byte[][] _allowed;

    public CellKeyList(TransmitterOptions options)
    {
        _allowed = [.. options.AllowedCellKeys.Select(key => NetMQCertificate.FromPublicKey(key).PublicKey)];
        _serverSecret = _allowed.Length > 0 ? options.CurveCertificate?.SecretKey : null;
    }

    /// <summary>True when cells must prove a listed key.</summary>
    public bool Required => _serverSecret is not null;

    /// <summary>Null when <paramref name="hello"/> may join; else why not, for the refusal's message.</summary>
    public string? Refusal(HelloMessage hello)
    {
        if (_serverSecret is null)
        {
            return null;
        }

        if (hello.Key is not { } proof)
        {
            return "this transmitter admits only listed cell keys: give the cell a fixed key pair (CellOptions.CurvePublicKey and CurveSecretKey) whose public key is in --allowed-keys-file";
        }

        if (!proof.Verify(_serverSecret, hello.Id, out var publicKey))
        {
            return "the key proof does not open: it was not made with the secret key of its public key, for this transmitter's key and this cell's id";
        }

        var listed = false;
        foreach (var allowed in _allowed)
        {
            listed |= CryptographicOperations.FixedTimeEquals(publicKey, allowed);
        }

        return listed ? null : $"the cell's key {proof.Public} is not in this transmitter's allowed keys (--allowed-keys-file)";
    }
}
