using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Thynapse.Core;

/// <summary>Helpers for ZeroMQ TCP endpoints (<c>tcp://host:port</c>).</summary>
public static class Endpoint
{
    /// <summary>
    /// The address to bind: a port of <c>*</c> becomes <c>0</c> (any free port), as ZeroMQ's own syntax allows.
    /// </summary>
    public static string ForBind(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.EndsWith(":*", StringComparison.Ordinal) ? endpoint[..^1] + "0" : endpoint;
    }

    /// <summary>
    /// Turns the endpoint a socket reports after binding (<c>tcp://0.0.0.0:4711</c>) into one a peer can connect to:
    /// a wildcard host is replaced by <paramref name="advertiseHost"/>, or by this machine's first non-loopback
    /// IPv4 address, or by 127.0.0.1 when it has none.
    /// </summary>
    public static string Connectable(string boundEndpoint, string? advertiseHost = null)
    {
        ArgumentNullException.ThrowIfNull(boundEndpoint);
        const string scheme = "tcp://";
        if (!boundEndpoint.StartsWith(scheme, StringComparison.Ordinal))
        {
            return boundEndpoint;
        }

        var hostAndPort = boundEndpoint[scheme.Length..];
        var colon = hostAndPort.LastIndexOf(':');
        if (colon < 0)
        {
            return boundEndpoint;
        }

        var host = hostAndPort[..colon];
        var port = hostAndPort[(colon + 1)..];
        if (host is "*" or "0.0.0.0" or "[::]" or "::" or "[::0]")
        {
            host = advertiseHost ?? FirstNonLoopbackIPv4() ?? "127.0.0.1";
        }
        else if (advertiseHost is not null)
        {
            host = advertiseHost;
        }

        return $"{scheme}{host}:{port}";
    }

    private static string? FirstNonLoopbackIPv4()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
                ?.ToString();
        }
        catch (NetworkInformationException)
        {
            return null;
        }
    }
}
