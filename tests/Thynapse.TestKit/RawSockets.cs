using System.Net.Sockets;

namespace Thynapse.TestKit;

/// <summary>Plain TCP sockets as a test sees the transmitter's end of them.</summary>
public static class RawSockets
{
    /// <summary>
    /// True when the peer closes (or resets) the connection within <paramref name="timeout"/>, whatever it sent before
    /// (the ZeroMQ greeting, say); false when it stays open that long.
    /// </summary>
    public static async Task<bool> ClosedByPeerAsync(Socket socket, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var buffer = new byte[256];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true; // reset
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
