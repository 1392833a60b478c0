using NetMQ;
using Thynapse.Core;

namespace Thynapse.Transmitter.Wire;

/// <summary>Binding the transmitter's sockets, with errors that name the setting.</summary>
internal static class Sockets
{
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
