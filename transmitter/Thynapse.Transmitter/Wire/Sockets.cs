using NetMQ;
using Thynapse.Core;

namespace Thynapse.Transmitter.Wire;

/// <summary>Binding the transmitter's sockets, with errors that name the setting.</summary>
internal static class Sockets
{
    /// <summary>
    /// Makes <paramref name="socket"/> a CURVE server with <paramref name="certificate"/> (PROTOCOL.md §1): it then
    /// accepts only clients that know its public key, and encrypts. Nothing when <paramref name="certificate"/> is null.
    /// Before binding.
    /// </summary>
    public static void SecureServer(NetMQSocket socket, NetMQCertificate? certificate)
    {
        if (certificate is not null)
        {
            socket.Options.CurveServer = true;
            socket.Options.CurveCertificate = certificate;
        }
    }

    /// <summary>
    /// Makes <paramref name="socket"/> a CURVE client of a transmitter with the same key pair (a mesh with CURVE shares
    /// one), presenting that pair as its own. Nothing when <paramref name="certificate"/> is null. Before connecting.
    /// </summary>
    public static void SecureClient(NetMQSocket socket, NetMQCertificate? certificate)
    {
        if (certificate is not null)
        {
            socket.Options.CurveServerKey = certificate.PublicKey;
            socket.Options.CurveCertificate = certificate;
        }
    }

    /// <summary>Binds <paramref name="socket"/> to <paramref name="endpoint"/>, the value of <paramref name="setting"/>.</summary>
    public static void Bind(NetMQSocket socket, string setting, string endpoint)
    {
        try
        {
            socket.Bind(Endpoint.ForBind(endpoint));
        }
        catch (Exception ex) when (ex is NetMQException or System.Net.Sockets.SocketException)
        {
            throw new TransmitterBindException(setting, endpoint, ex);
        }
    }
}
