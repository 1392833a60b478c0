namespace Thynapse.Core;

/// <summary>The operator keys of the query language (PROTOCOL.md §11.3), in one place for the compiler.</summary>
internal static class QueryOperators
{
    public const string Eq = "$eq";
    public const string Ne = "$ne";
    public const string Gt = "$gt";
    public const string Gte = "$gte";
    public const string Lt = "$lt";
    public const string Lte = "$lte";
    public const string In = "$in";
    public const string Nin = "$nin";
    public const string Contains = "$contains";
    public const string NotContains = "$ncontains";
    public const string Exists = "$exists";
    public const string And = "$and";
    public const string Or = "$or";
    public const string Not = "$not";
    public const string Min = "$min";
    public const string Max = "$max";

    /// <summary>True for the operators that apply to one field's value (<c>$not</c> excluded: it works at both levels).</summary>
    public static bool IsFieldOperator(string name) => name is Eq or Ne or Gt or Gte or Lt or Lte or In or Nin or Contains or NotContains or Exists;

    /// <summary>The ordering an ordering operator asks for.</summary>
    public static ComparisonOperator Comparison(string name) => name switch
    {
        Gt => ComparisonOperator.GreaterThan,
        Gte => ComparisonOperator.GreaterThanOrEqual,
        Lt => ComparisonOperator.LessThan,
        _ => ComparisonOperator.LessThanOrEqual,
    };
}
