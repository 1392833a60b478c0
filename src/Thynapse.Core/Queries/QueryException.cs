namespace Thynapse.Core;

/// <summary>A metadata query could not be compiled; <see cref="Error"/> says why and where.</summary>
public sealed class QueryException : FormatException
{
    /// <summary>A refusal without details (kind <see cref="QueryErrorKind.InvalidShape"/>, top level).</summary>
    public QueryException()
        : this("The metadata query is invalid.")
    {
    }

    /// <summary>A refusal with a message (kind <see cref="QueryErrorKind.InvalidShape"/>, top level).</summary>
    public QueryException(string message)
        : this(message, null)
    {
    }

    /// <summary>A refusal with a message and its cause (kind <see cref="QueryErrorKind.InvalidShape"/>, top level).</summary>
    public QueryException(string message, Exception? innerException)
        : base(message, innerException) =>
        Error = new QueryError(QueryErrorKind.InvalidShape, string.Empty, message);

    /// <summary>The refusal described by <paramref name="error"/>.</summary>
    public QueryException(QueryError error)
        : base(error?.Message ?? throw new ArgumentNullException(nameof(error))) =>
        Error = error;

    /// <summary>The problem: kind, path and message.</summary>
    public QueryError Error { get; }

    /// <summary>The kind of problem (<see cref="QueryError.Kind"/>).</summary>
    public QueryErrorKind Kind => Error.Kind;

    /// <summary>Where in the query the problem is (<see cref="QueryError.Path"/>).</summary>
    public string Path => Error.Path;
}
