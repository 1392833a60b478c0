using System.Buffers;
using NetMQ;

namespace Thynapse.Core;

/// <summary>
/// A NetMQ buffer pool over <see cref="ArrayPool{T}.Shared"/>: frames NetMQ receives and the frames we build
/// with <c>Msg.InitPool</c> reuse arrays instead of allocating one per frame.
/// </summary>
/// <remarks>
/// NetMQ's pool is process-wide. <see cref="Install"/> is meant for a process's entry point (the transmitter
/// calls it); a library should leave the choice to the application.
/// </remarks>
public sealed class PooledBufferPool : IBufferPool
{
    private static int _installed;

    private PooledBufferPool()
    {
    }

    /// <summary>Makes NetMQ use this pool in this process (idempotent).</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            BufferPool.SetCustomBufferPool(new PooledBufferPool());
        }
    }

    /// <inheritdoc />
    public byte[] Take(int size) => ArrayPool<byte>.Shared.Rent(size);

    /// <inheritdoc />
    public void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
