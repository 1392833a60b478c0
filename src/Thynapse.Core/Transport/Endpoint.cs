using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Thynapse.Core;

/// <summary>Helpers for ZeroMQ TCP endpoints (<c>tcp://host:port</c>).</summary>
public static class Endpoint
{
    private const string Scheme = "tcp://";

    /// <summary>
    /// Checks an endpoint before it reaches NetMQ, whose own errors name neither the setting nor the expected form
    /// (<c>localhost:4710</c> fails inside it with an <see cref="ArgumentOutOfRangeException"/>, <c>http://…</c> with
    /// a <c>ProtocolNotSupportedException</c>). Only <c>tcp://host:port</c> is accepted; a transmitter binding may use
    /// the host <c>*</c> (every interface) and the port <c>*</c> or <c>0</c> (any free port).
    /// </summary>
    /// <param name="endpoint">The endpoint as the user wrote it.</param>
    /// <param name="setting">How the user set it, for the message: <c>CellOptions.Transmitter</c>, <c>--command</c>…</param>
    /// <param name="bind">True for an endpoint the transmitter binds, false for one a cell connects to.</param>
    /// <param name="defaultPort">The port suggested when the endpoint names none.</param>
    /// <param name="error">
    /// What is wrong, naming <paramref name="setting"/>, the expected form and, when one can be guessed, the endpoint
    /// probably meant: <c>CellOptions.Transmitter: expected tcp://host:port, got 'localhost:4710'. Did you mean
    /// tcp://localhost:4710?</c>
    /// </param>
    public static bool TryValidate(string? endpoint, string setting, bool bind, int defaultPort, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(setting);
        if (Problem(endpoint ?? "", bind, defaultPort, out var suggestion) is not { } problem)
        {
            error = null;
            return true;
        }

        var got = string.IsNullOrWhiteSpace(endpoint) ? "nothing" : $"'{endpoint}'";
        error = $"{setting}: expected tcp://host:port, got {got}{problem}." + (suggestion is null ? "" : $" Did you mean {suggestion}?");
        return false;
    }

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
        const string scheme = Scheme;
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
        if (IsWildcardHost(host))
        {
            host = advertiseHost ?? FirstNonLoopbackIPv4() ?? "127.0.0.1";
        }
        else if (advertiseHost is not null)
        {
            host = advertiseHost;
        }

        return $"{scheme}{host}:{port}";
    }

    /// <summary>The port of a bound TCP endpoint (<c>tcp://0.0.0.0:4711</c>: 4711); 0 when it names none.</summary>
    public static int PortOf(string boundEndpoint)
    {
        ArgumentNullException.ThrowIfNull(boundEndpoint);
        var colon = boundEndpoint.LastIndexOf(':');
        return colon >= 0 && int.TryParse(boundEndpoint.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) ? port : 0;
    }

    /// <summary>Null for a valid endpoint; else what to add after "got '…'", and the endpoint probably meant, if any.</summary>
    private static string? Problem(string text, bool bind, int defaultPort, out string? suggestion)
    {
        // Take the text apart as leniently as possible, so that the guess keeps whatever host and port it names.
        var rest = text.Trim();
        var schemeEnd = rest.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? null : rest[..schemeEnd];
        rest = schemeEnd < 0 ? rest : rest[(schemeEnd + 3)..];
        var pathStart = rest.IndexOf('/', StringComparison.Ordinal);
        var hostAndPort = pathStart < 0 ? rest : rest[..pathStart];
        var colon = hostAndPort.LastIndexOf(':');
        var host = colon < 0 ? hostAndPort : hostAndPort[..colon];
        var port = colon < 0 ? "" : hostAndPort[(colon + 1)..];
        if (colon < 0 && host.Length > 0 && host.All(char.IsAsciiDigit))
        {
            (host, port) = ("", host); // "4710": a port alone
        }

        var anyPort = port is "*" or "0";
        var wildcard = IsWildcardHost(host);
        var guessHost = host.Length == 0 || (wildcard && !bind) ? (bind ? "*" : "127.0.0.1") : host;
        var guessPort = port.Length == 0 || (anyPort && !bind) ? defaultPort.ToString(CultureInfo.InvariantCulture) : port;
        suggestion = IsPort(guessPort, bind) ? $"{Scheme}{guessHost}:{guessPort}" : null;

        if (scheme is null)
        {
            return "";
        }

        if (scheme != "tcp")
        {
            return $": only tcp:// is supported, not {scheme}://";
        }

        if (text.Trim().Length != text.Length || rest.Any(char.IsWhiteSpace))
        {
            return " (it contains white space)";
        }

        if (pathStart >= 0)
        {
            return " (an endpoint has no path)";
        }

        if (port.Length == 0)
        {
            return " (no port)";
        }

        if (host.Length == 0)
        {
            return " (no host)";
        }

        if (wildcard && !bind)
        {
            return $": the host '{host}' is for binding to every interface; a cell connects to one host";
        }

        if (anyPort && !bind)
        {
            return $": the port {port} is for binding to any free port; a cell connects to the port the transmitter bound";
        }

        if (!IsPort(port, bind))
        {
            return bind ? ": the port must be a number from 0 to 65535, or * (0 and * pick a free port)" : ": the port must be a number from 1 to 65535";
        }

        suggestion = null;
        return null;
    }

    private static bool IsWildcardHost(string host) => host is "*" or "0.0.0.0" or "[::]" or "::" or "[::0]";

    private static bool IsPort(string port, bool bind) =>
        (bind && port == "*")
        || (port.Length is > 0 and <= 5 && port.All(char.IsAsciiDigit)
            && int.Parse(port, CultureInfo.InvariantCulture) is var number && number <= 65_535 && (bind || number > 0));

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
