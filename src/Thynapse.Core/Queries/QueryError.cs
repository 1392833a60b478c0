namespace Thynapse.Core;

/// <summary>Why a metadata query was refused, and where (PROTOCOL.md §11.7).</summary>
/// <param name="Kind">The kind of problem, which decides the <c>ERRR</c> code.</param>
/// <param name="Path">
/// Where the problem is: field names and <c>$and[i]</c>, <c>$or[i]</c>, <c>$not</c> steps from the top of the query,
/// joined by dots (<c>$or[1].load</c>); empty for the top level.
/// </param>
/// <param name="Message">A sentence for humans that names the path and the operator, e.g. <c>unknown operator '$foo' at 'load'</c>.</param>
public sealed record QueryError(QueryErrorKind Kind, string Path, string Message)
{
    /// <summary>The message.</summary>
    public override string ToString() => Message;
}
