namespace Thynapse.Core;

/// <summary>The JSON type of a query constant.</summary>
internal enum QueryValueKind : byte
{
    /// <summary>JSON <c>null</c>: stands for a missing field.</summary>
    Null,

    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A number.</summary>
    Number,

    /// <summary>A string (possibly a version).</summary>
    String,
}
