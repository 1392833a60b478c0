using System.Security.Cryptography;
using System.Text;
using Thynapse.Core;

namespace Thynapse.Transmitter.Sessions;

/// <summary>
/// Checks the <c>secret</c> of a <c>HELO</c> (PROTOCOL.md §5.1) against the transmitter's shared secret
/// (<see cref="TransmitterOptions.Secret"/>) and its per-service credentials (<see cref="TransmitterOptions.Credentials"/>).
/// Every configured secret is compared, each in constant time over its SHA-256 (so neither the length of a secret nor
/// which of them came closest shows in the time taken). Routing thread only.
/// </summary>
internal sealed class CellAuthenticator
{
    private readonly byte[]? _secret;
    private readonly (byte[] Hash, HashSet<string> Services)[] _credentials;

    public CellAuthenticator(TransmitterOptions options)
    {
        _secret = options.Secret is { } secret ? Hash(secret) : null;
        _credentials = [.. options.Credentials.Select(c => (Hash(c.Secret), new HashSet<string>(c.Services, StringComparer.Ordinal)))];
    }

    /// <summary>True when cells must present a secret.</summary>
    public bool Required => _secret is not null || _credentials.Length > 0;

    /// <summary>
    /// What <paramref name="presented"/> admits: <see cref="Admission.Any"/> (the shared secret, or none is required),
    /// <see cref="Admission.Services"/> (a credential: <paramref name="services"/> are those it may join as), or
    /// <see cref="Admission.Refused"/>.
    /// </summary>
    public Admission Admit(string? presented, out IReadOnlySet<string>? services)
    {
        services = null;
        if (!Required)
        {
            return Admission.Any;
        }

        // A missing secret is hashed as an empty one, so that it takes the same path and time as a wrong one.
        var hash = Hash(presented ?? "");
        var shared = _secret is not null && CryptographicOperations.FixedTimeEquals(hash, _secret);
        HashSet<string>? matched = null;
        foreach (var (credential, names) in _credentials)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, credential))
            {
                matched ??= names;
            }
        }

        if (presented is null)
        {
            return Admission.Refused;
        }

        services = matched;
        return shared ? Admission.Any : matched is not null ? Admission.Services : Admission.Refused;
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}

/// <summary>What a <c>HELO</c>'s secret admits.</summary>
internal enum Admission
{
    /// <summary>No secret, or a wrong one.</summary>
    Refused,

    /// <summary>Any service (the shared secret, or none is required).</summary>
    Any,

    /// <summary>Only the services of the credential it matched.</summary>
    Services,
}
