using System.Net;
using System.Net.Sockets;

namespace Thynapse.ProcessKit;

/// <summary>Free TCP ports on 127.0.0.1, for processes that must be told their ports.</summary>
public static class Ports
{
    // The OS may pick a port it just released again: two calls in a row (a command and an events port) could get the
    // same one. A port is handed out once per test process.
    private static readonly HashSet<int> Given = [];

    /// <summary>A loopback port that was free a moment ago (the OS picks it), never one this process was given before.</summary>
    public static int Free()
    {
        lock (Given)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
