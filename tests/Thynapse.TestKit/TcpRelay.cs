using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Thynapse.TestKit;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a port: what a cell connects through when a test must decide when its
/// connection may be made (<see cref="Accepting"/>). A relayed connection ends when either side closes. For ordering
/// events in fault tests, not for partitions (those use network namespaces).
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _pairs = new();
    private readonly Task _accepting;
    private volatile bool _open = true;

    /// <summary>Relays connections to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public TcpRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>The endpoint to connect to instead of the target.</summary>
    public string Endpoint => $"tcp://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>While false, new connections are closed as soon as they are accepted (those already relayed go on).</summary>
    public bool Accepting
    {
        get => _open;
        set => _open = value;
    }

    /// <summary>Connections being relayed now.</summary>
    public int Connections => _pairs.Count;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var (client, server) in _pairs)
        {
            client.Dispose();
            server.Dispose();
        }

        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (!_open)
            {
                client.Dispose();
                continue;
            }

            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _pairs[client] = server;
            _ = RelayAsync(client, server);
        }
    }

    private async Task RelayAsync(TcpClient client, TcpClient server)
    {
        try
        {
            await Task.WhenAny(Pump(client.GetStream(), server.GetStream()), Pump(server.GetStream(), client.GetStream()));
        }
        finally
        {
            _pairs.TryRemove(client, out _);
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task Pump(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // One side went away: the relay of this connection ends.
        }
    }
}
