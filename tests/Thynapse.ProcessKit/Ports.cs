using System.Net;
using System.Net.Sockets;

namespace Thynapse.ProcessKit;

/// <summary>Free TCP ports on 127.0.0.1, for processes that must be told their ports.</summary>
public static class Ports
{
    /// <summary>A loopback port that was free a moment ago (the OS picks it).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
