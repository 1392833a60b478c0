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
    /// <remarks>
    /// Arrays of other lengths than the shared pool's (powers of two from 16) were not rented here — a message
    /// allocated before this pool was installed comes back here too — so they are left to the garbage collector.
    /// </remarks>
    public void Return(byte[] buffer)
    {
        if (buffer is { Length: >= 16 } && System.Numerics.BitOperations.IsPow2(buffer.Length))
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
