using System.Net.Sockets;
using NetMQ;

namespace Thynapse.Transmitter;

/// <summary>
/// One of the transmitter's endpoints could not be bound: <see cref="Setting"/> says which (command or events),
/// <see cref="Endpoint"/> what it asked for, and the message why and what to do about it. The NetMQ or socket error is
/// the <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class TransmitterBindException : Exception
{
    internal TransmitterBindException(string setting, string endpoint, Exception inner)
        : base(Describe(setting, endpoint, inner, SettingNames.Properties), inner)
    {
        Setting = setting;
        Endpoint = endpoint;
    }

    /// <summary>The option naming the endpoint: <c>CommandEndpoint</c> or <c>EventsEndpoint</c> (<see cref="TransmitterOptions"/>).</summary>
    public string Setting { get; }

    /// <summary>The endpoint as given.</summary>
    public string Endpoint { get; }

    /// <summary>The message, naming the setting as <paramref name="names"/> says (the flags, for the executable).</summary>
    internal string Describe(SettingNames names) => Describe(Setting, Endpoint, InnerException!, names);

    private static string Describe(string setting, string endpoint, Exception inner, SettingNames names)
    {
        var colon = endpoint.LastIndexOf(':');
        var port = endpoint[(colon + 1)..];
        var host = endpoint[(endpoint.IndexOf("://", StringComparison.Ordinal) + 3)..colon];
        var why = inner switch
        {
            AddressAlreadyInUseException or NetMQException { ErrorCode: ErrorCode.AddressAlreadyInUse } =>
                $"another process listens on port {port}; pick another port with {names.Reference(setting)}, or stop that process",
            NetMQException { ErrorCode: ErrorCode.AddressNotAvailable } =>
                $"{host} is not an address of this machine; bind one of its addresses, or tcp://*:{port} for every interface",
            NetMQException { ErrorCode: ErrorCode.AccessDenied } =>
                $"not allowed to bind port {port} (ports below 1024 need privileges); pick a higher port with {names.Reference(setting)}",
            SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData } =>
                $"the host '{host}' could not be resolved; bind one of this machine's addresses, or tcp://*:{port} for every interface",
            NetMQException netMq => $"{netMq.ErrorCode} ({netMq.InnerException?.Message ?? netMq.Message})",
            _ => inner.Message,
        };
        return $"Could not bind {names.Subject(setting)} to {endpoint}: {why}.";
    }
}
