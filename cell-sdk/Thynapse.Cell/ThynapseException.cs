using System.Diagnostics.CodeAnalysis;
using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>The base of every exception the cell SDK throws for Thynapse reasons.</summary>
public class ThynapseException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public ThynapseException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public ThynapseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception without details.</summary>
    public ThynapseException()
    {
    }

    [DoesNotReturn]
    internal static void ThrowClosed() => throw new ObjectDisposedException(nameof(Cell), "The cell is disposed.");
}

/// <summary>The transmitter refused a command with <c>ERRR</c>.</summary>
public sealed class ThynapseRejectedException : ThynapseException
{
    /// <summary>Creates the exception for a refusal.</summary>
    public ThynapseRejectedException(ThynapseErrorCode code, string detail)
        : base($"The transmitter refused: {(int)code} {ErrorCodeNames.Of(code)}: {detail}")
    {
        Code = code;
        Detail = detail;
    }

    /// <summary>Creates an exception without details.</summary>
    public ThynapseRejectedException()
    {
        Detail = "";
    }

    /// <summary>Creates an exception with a message.</summary>
    public ThynapseRejectedException(string message)
        : base(message)
    {
        Detail = message;
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public ThynapseRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Detail = message;
    }

    /// <summary>The error code (PROTOCOL.md §7).</summary>
    public ThynapseErrorCode Code { get; }

    /// <summary>The transmitter's explanation.</summary>
    public string Detail { get; }
}

/// <summary>The connection to the transmitter was lost before an outcome was known.</summary>
public sealed class ThynapseConnectionException : ThynapseException
{
    /// <summary>Creates an exception with a message.</summary>
    public ThynapseConnectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception without details.</summary>
    public ThynapseConnectionException()
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public ThynapseConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Something did not happen in time (a connect, a confirmation, room in the publish buffer).</summary>
public sealed class ThynapseTimeoutException : ThynapseException
{
    /// <summary>Creates an exception with a message.</summary>
    public ThynapseTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception without details.</summary>
    public ThynapseTimeoutException()
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public ThynapseTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>An event published with <see cref="PublishAwait.Completion"/> used up its attempts at a service and was dead-lettered.</summary>
public sealed class ThynapseDeadLetteredException : ThynapseException
{
    /// <summary>The service that gave up on the event (null from a transmitter that does not say).</summary>
    public string? Service { get; init; }

    /// <summary>What ended the last attempt, as the transmitter put it (PROTOCOL.md §4.5), or null.</summary>
    public string? Reason { get; init; }

    /// <summary>Deliveries made to that service.</summary>
    public int Attempts { get; init; }

    /// <summary>Creates an exception with a message.</summary>
    public ThynapseDeadLetteredException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception without details.</summary>
    public ThynapseDeadLetteredException()
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public ThynapseDeadLetteredException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>An awaited publish with <see cref="PublishOptions.ThrowOnNoReceiver"/> reached no cell.</summary>
public sealed class ThynapseNoReceiverException : ThynapseException
{
    /// <summary>Creates an exception with a message.</summary>
    public ThynapseNoReceiverException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception without details.</summary>
    public ThynapseNoReceiverException()
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public ThynapseNoReceiverException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
