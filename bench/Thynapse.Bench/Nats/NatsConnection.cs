using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Thynapse.Bench.Nats;

/// <summary>What a reader does with each <c>MSG</c>.</summary>
internal interface INatsHandler
{
    /// <summary>
    /// One message. The spans point into the connection's read buffer and are valid only during the call.
    /// </summary>
    void OnMessage(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, ReadOnlySpan<byte> payload);
}

/// <summary>
/// A lean, single-threaded NATS client speaking the text protocol over one TCP socket: buffered writes (one
/// <c>send</c> per 256 KiB or per <see cref="Flush"/>), and a parser that works in place on one large read buffer
/// (no allocation per message). Enough for benchmarks: CONNECT, PUB, SUB (with queue group), MSG, PING/PONG.
/// </summary>
/// <remarks>
/// Not thread-safe: one thread writes and reads. Reading is explicit (<see cref="ReadOnce"/>), so a publisher that
/// never reads costs the server nothing but its PUBs; server PINGs are answered whenever the connection reads.
/// </remarks>
internal sealed class NatsConnection : IDisposable
{
    private const int WriteCapacity = 256 * 1024;
    private static readonly byte[] PongLine = "PONG\r\n"u8.ToArray();
    private static readonly byte[] PingLine = "PING\r\n"u8.ToArray();

    private readonly Socket _socket;
    private byte[] _read = new byte[1024 * 1024];
    private int _readStart;
    private int _readEnd;
    private byte[] _write = new byte[WriteCapacity];
    private int _writeLength;
    private long _pongs;
    private TimeSpan _readTimeout;

    private NatsConnection(Socket socket) => _socket = socket;

    /// <summary>How long <see cref="ReadOnce"/> blocks before failing with a timed-out <see cref="SocketException"/> (default: forever).</summary>
    public TimeSpan ReadTimeout
    {
        get => _readTimeout;
        set
        {
            _readTimeout = value;
            _socket.ReceiveTimeout = (int)value.TotalMilliseconds;
        }
    }

    /// <summary>Messages parsed since the connection opened.</summary>
    public long MessagesRead { get; private set; }

    /// <summary>Connects, sends CONNECT and waits for the PONG of a PING (so the server has taken CONNECT).</summary>
    /// <param name="endpoint"><c>host:port</c>.</param>
    /// <param name="retryFor">How long to retry refused connections (the server may still be starting).</param>
    public static NatsConnection Connect(string endpoint, string name, TimeSpan retryFor = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var colon = endpoint.LastIndexOf(':');
        var address = IPAddress.Parse(endpoint[..colon]);
        var port = int.Parse(endpoint.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture);
        var deadline = Environment.TickCount64 + (long)retryFor.TotalMilliseconds;
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Connect(address, port);
                var connection = new NatsConnection(socket);
                connection.WriteRaw($"CONNECT {{\"verbose\":false,\"pedantic\":false,\"name\":\"{name}\",\"lang\":\"csharp-lean\",\"version\":\"0.1\",\"protocol\":1}}\r\n");
                connection.PingAndWait(null);
                return connection;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused && Environment.TickCount64 < deadline)
            {
                socket.Dispose();
                Thread.Sleep(20); // the server is not listening yet: retry shortly
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    /// <summary>Queues <c>SUB subject [queue] sid</c>.</summary>
    public void Subscribe(string subject, string? queue, long sid) =>
        WriteRaw(queue is null ? $"SUB {subject} {sid}\r\n" : $"SUB {subject} {queue} {sid}\r\n");

    /// <summary>Queues <c>PUB subject [reply] size</c> and the payload; sends when the buffer is full.</summary>
    public void Publish(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, ReadOnlySpan<byte> payload)
    {
        var need = 4 + subject.Length + 1 + reply.Length + 1 + 11 + 2 + payload.Length + 2;
        if (_writeLength + need > _write.Length)
        {
            Flush();
            if (need > _write.Length)
            {
                _write = new byte[need];
            }
        }

        var w = _write.AsSpan(_writeLength);
        "PUB "u8.CopyTo(w);
        var p = 4;
        subject.CopyTo(w[p..]);
        p += subject.Length;
        w[p++] = (byte)' ';
        if (!reply.IsEmpty)
        {
            reply.CopyTo(w[p..]);
            p += reply.Length;
            w[p++] = (byte)' ';
        }

        Utf8Formatter.TryFormat(payload.Length, w[p..], out var digits);
        p += digits;
        w[p++] = (byte)'\r';
        w[p++] = (byte)'\n';
        payload.CopyTo(w[p..]);
        p += payload.Length;
        w[p++] = (byte)'\r';
        w[p++] = (byte)'\n';
        _writeLength += p;
    }

    /// <summary>Sends everything buffered (blocking until the kernel took it).</summary>
    public void Flush()
    {
        var offset = 0;
        while (offset < _writeLength)
        {
            offset += _socket.Send(_write, offset, _writeLength - offset, SocketFlags.None);
        }

        _writeLength = 0;
    }

    /// <summary>
    /// Sends PING (and everything before it) and reads until its PONG: the server has then processed every
    /// command sent before. Messages read meanwhile go to <paramref name="handler"/> (or are counted only).
    /// </summary>
    public void PingAndWait(INatsHandler? handler)
    {
        var target = _pongs + 1;
        WriteBytes(PingLine);
        Flush();
        while (_pongs < target)
        {
            ReadOnce(handler);
        }
    }

    /// <summary>Reads once from the socket (blocking) and handles every complete message; returns how many.</summary>
    /// <exception cref="IOException">The server closed the connection.</exception>
    /// <exception cref="NatsErrorException">The server sent <c>-ERR</c>.</exception>
    public int ReadOnce(INatsHandler? handler)
    {
        if (_read.Length - _readEnd < 64 * 1024)
        {
            MakeRoom();
        }

        var received = _socket.Receive(_read, _readEnd, _read.Length - _readEnd, SocketFlags.None);
        if (received == 0)
        {
            throw new IOException("the NATS server closed the connection");
        }

        _readEnd += received;
        return Parse(handler);
    }

    public void Dispose() => _socket.Dispose();

    private int Parse(INatsHandler? handler)
    {
        var buffer = _read;
        var pos = _readStart;
        var end = _readEnd;
        var messages = 0;
        var pong = false;
        while (pos < end)
        {
            var span = new ReadOnlySpan<byte>(buffer, pos, end - pos);
            var newline = span.IndexOf((byte)'\n');
            if (newline < 1)
            {
                break; // incomplete line
            }

            var line = span[..(newline - 1)]; // without \r\n
            if (line.Length >= 4 && line[0] == (byte)'M')
            {
                // MSG <subject> <sid> [reply-to] <#bytes>
                var lastSpace = line.LastIndexOf((byte)' ');
                if (!Utf8Parser.TryParse(line[(lastSpace + 1)..], out int size, out _))
                {
                    throw new NatsErrorException("unparseable MSG line: " + Encoding.ASCII.GetString(line));
                }

                var total = newline + 1 + size + 2;
                if (span.Length < total)
                {
                    // The payload is not all here yet: make sure it will fit, then read more.
                    _readStart = pos;
                    if (total + (64 * 1024) > buffer.Length)
                    {
                        Grow(total + (64 * 1024));
                        pos = _readStart;
                    }

                    break;
                }

                if (handler is not null)
                {
                    var rest = line[4..lastSpace]; // subject sid [reply]
                    var s1 = rest.IndexOf((byte)' ');
                    var subject = rest[..s1];
                    var afterSid = rest[(s1 + 1)..];
                    var s2 = afterSid.IndexOf((byte)' ');
                    var reply = s2 < 0 ? default : afterSid[(s2 + 1)..];
                    handler.OnMessage(subject, reply, span.Slice(newline + 1, size));
                }

                messages++;
                pos += total;
                continue;
            }

            if (line.SequenceEqual("PING"u8))
            {
                pong = true;
            }
            else if (line.SequenceEqual("PONG"u8))
            {
                _pongs++;
            }
            else if (line.Length > 0 && line[0] == (byte)'-')
            {
                throw new NatsErrorException("server: " + Encoding.ASCII.GetString(line));
            }

            // +OK and INFO need nothing.
            pos += newline + 1;
        }

        _readStart = pos;
        if (_readStart == _readEnd)
        {
            _readStart = _readEnd = 0;
        }

        MessagesRead += messages;
        if (pong)
        {
            WriteBytes(PongLine);
            Flush();
        }

        return messages;
    }

    private void MakeRoom()
    {
        var pending = _readEnd - _readStart;
        if (_readStart > 0)
        {
            Buffer.BlockCopy(_read, _readStart, _read, 0, pending);
            _readStart = 0;
            _readEnd = pending;
        }

        if (_read.Length - _readEnd < 64 * 1024)
        {
            Grow(_read.Length * 2);
        }
    }

    private void Grow(int size)
    {
        var bigger = new byte[Math.Max(size, _read.Length)];
        Buffer.BlockCopy(_read, _readStart, bigger, 0, _readEnd - _readStart);
        _readEnd -= _readStart;
        _readStart = 0;
        _read = bigger;
    }

    private void WriteRaw(string text) => WriteBytes(Encoding.ASCII.GetBytes(text));

    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        if (_writeLength + bytes.Length > _write.Length)
        {
            Flush();
        }

        if (bytes.Length > _write.Length)
        {
            _write = new byte[bytes.Length];
        }

        bytes.CopyTo(_write.AsSpan(_writeLength));
        _writeLength += bytes.Length;
    }
}

internal sealed class NatsErrorException(string message) : Exception(message);
