using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Newtonsoft.Json.Linq;

namespace Thynapse.Core;

/// <summary>
/// Turns a query's JSON into <see cref="FilterNode"/>s and a <see cref="QuerySelector"/>, checking the grammar
/// and the limits of PROTOCOL.md §11 on the way.
/// </summary>
/// <remarks>
/// Refusals are reported through <see cref="_error"/> and null returns rather than exceptions: a transmitter may
/// receive a stream of bad queries, and each must cost no more than a good one. Only the first problem is kept.
/// </remarks>
internal sealed class QueryCompiler
{
    private readonly QueryLimits _limits;
    private int _nodes;
    private QuerySelector? _selector;
    private QueryError? _error;

    private QueryCompiler(QueryLimits limits) => _limits = limits;

    /// <summary>Compiles <paramref name="json"/>; on failure <paramref name="error"/> names the first problem.</summary>
    public static bool TryCompile(
        [NotNullWhen(true)] JToken? json,
        QueryLimits limits,
        [NotNullWhen(true)] out FilterNode? filter,
        out QuerySelector? selector,
        [NotNullWhen(false)] out QueryError? error)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var compiler = new QueryCompiler(limits);
        filter = json is null
            ? compiler.Fail<FilterNode>(QueryErrorKind.InvalidShape, string.Empty, "the query is missing")
            : compiler.CompileFilter(json, string.Empty, depth: 1, isTopLevel: true);
        selector = compiler._selector;
        error = compiler._error;
        return filter is not null;
    }

    // A filter: an object whose keys are field paths (each a condition) and logical operators, all of which must hold.
    private FilterNode? CompileFilter(JToken token, string path, int depth, bool isTopLevel)
    {
        if (token is not JObject obj)
        {
            return Fail<FilterNode>(QueryErrorKind.InvalidShape, path, $"a filter must be an object, not {JsonPayload.Describe(token.Type)}, at {Where(path)}");
        }

        if (!CheckDepth(depth, path))
        {
            return null;
        }

        var children = new List<FilterNode>(obj.Count);
        foreach (var property in obj.Properties())
        {
            var name = property.Name;
            FilterNode? child;
            if (!name.StartsWith('$'))
            {
                child = CompileField(name, property.Value, path, depth);
            }
            else if (name is QueryOperators.Min or QueryOperators.Max)
            {
                if (!CompileSelector(name, property.Value, path, isTopLevel))
                {
                    return null;
                }

                continue;
            }
            else
            {
                child = name switch
                {
                    QueryOperators.And or QueryOperators.Or => CompileLogical(name, property.Value, path, depth),
                    QueryOperators.Not => CompileNot(property.Value, path, depth),
                    _ when QueryOperators.IsFieldOperator(name) => Fail<FilterNode>(
                        QueryErrorKind.InvalidShape, path, $"'{name}' applies to a field, as in {{\"field\": {{\"{name}\": …}}}}, at {Where(path)}"),
                    _ => Fail<FilterNode>(QueryErrorKind.UnknownOperator, path, $"unknown operator '{name}' at {Where(path)}"),
                };
            }

            if (child is null)
            {
                return null;
            }

            children.Add(child);
        }

        return children.Count switch
        {
            0 => MatchAllNode.Instance,
            1 => children[0],
            _ => new AndNode([.. children]),
        };
    }

    private FilterNode? CompileLogical(string name, JToken operand, string path, int depth)
    {
        if (!CountNode(path))
        {
            return null;
        }

        var here = Join(path, name);
        if (operand is not JArray array)
        {
            return Fail<FilterNode>(QueryErrorKind.InvalidOperand, path, $"'{name}' at {Where(path)} needs an array of filters, not {JsonPayload.Describe(operand.Type)}");
        }

        if (!CheckDepth(depth + 1, here) || !CheckArrayLength(array, name, path))
        {
            return null;
        }

        if (array.Count == 0)
        {
            return Fail<FilterNode>(QueryErrorKind.InvalidOperand, path, $"'{name}' at {Where(path)} needs at least one filter");
        }

        var children = new FilterNode[array.Count];
        for (var i = 0; i < array.Count; i++)
        {
            var child = CompileFilter(array[i], $"{here}[{i.ToString(CultureInfo.InvariantCulture)}]", depth + 2, isTopLevel: false);
            if (child is null)
            {
                return null;
            }

            children[i] = child;
        }

        return children.Length == 1 ? children[0] : name == QueryOperators.And ? new AndNode(children) : new OrNode(children);
    }

    private NotNode? CompileNot(JToken operand, string path, int depth)
    {
        if (!CountNode(path))
        {
            return null;
        }

        var inner = CompileFilter(operand, Join(path, QueryOperators.Not), depth + 1, isTopLevel: false);
        return inner is null ? null : new NotNode(inner);
    }

    private bool CompileSelector(string name, JToken operand, string path, bool isTopLevel)
    {
        if (!isTopLevel)
        {
            Report(QueryErrorKind.InvalidShape, path, $"the selector '{name}' may only appear at the top level of the query, not at {Where(path)}");
            return false;
        }

        if (!CountNode(path))
        {
            return false;
        }

        if (_selector is not null)
        {
            Report(QueryErrorKind.InvalidShape, path, $"a query has at most one selector, and '{name}' follows '{(_selector.Kind == SelectorKind.Min ? QueryOperators.Min : QueryOperators.Max)}'");
            return false;
        }

        if (operand.Type != JTokenType.String)
        {
            Report(QueryErrorKind.InvalidOperand, path, $"'{name}' needs the path of a numeric field as a string, not {JsonPayload.Describe(operand.Type)}");
            return false;
        }

        var text = (string)operand!;
        var fieldPath = CompilePath(text, path);
        if (fieldPath is null)
        {
            return false;
        }

        _selector = new QuerySelector(name == QueryOperators.Min ? SelectorKind.Min : SelectorKind.Max, fieldPath);
        return true;
    }

    private FieldNode? CompileField(string name, JToken value, string path, int depth)
    {
        var here = Join(path, name);
        var fieldPath = CompilePath(name, here);
        if (fieldPath is null)
        {
            return null;
        }

        var test = CompileCondition(value, here, depth + 1);
        return test is null ? null : new FieldNode(fieldPath, test);
    }

    private FieldPath? CompilePath(string text, string path)
    {
        if (text.Length > _limits.MaxStringLength)
        {
            return Fail<FieldPath>(QueryErrorKind.TooLarge, path, $"a field path is longer than {_limits.MaxStringLength} characters at {Where(path)}");
        }

        return FieldPath.TryCreate(text, out var fieldPath, out var error)
            ? fieldPath
            : Fail<FieldPath>(QueryErrorKind.InvalidPath, path, $"{error} at {Where(path)}");
    }

    // What may follow a field: a scalar (implicit $eq) or an operator object. Also the operand of a field's $not.
    private ValueTest? CompileCondition(JToken value, string here, int depth)
    {
        switch (value)
        {
            case JObject obj:
                return CompileOperators(obj, here, depth);
            case JArray:
                return CheckDepth(depth, here)
                    ? Fail<ValueTest>(QueryErrorKind.InvalidOperand, here, $"a field cannot equal an array at {Where(here)}; use $in (one of) or $contains (the list holds)")
                    : null;
            default:
                return CountNode(here) && TryReadScalar(value, here, "the value", allowNull: true, out var constant)
                    ? new EqualsTest(constant)
                    : null;
        }
    }

    private ValueTest? CompileOperators(JObject obj, string here, int depth)
    {
        if (!CheckDepth(depth, here))
        {
            return null;
        }

        if (obj.Count == 0)
        {
            return Fail<ValueTest>(QueryErrorKind.InvalidShape, here, $"the object at {Where(here)} has no operator; a field's object must hold operators such as {{\"$gt\": 1}}");
        }

        var tests = new ValueTest[obj.Count];
        var i = 0;
        foreach (var property in obj.Properties())
        {
            var name = property.Name;
            if (!name.StartsWith('$'))
            {
                // Objects are not values: matching a nested field is written with a dotted path.
                return Fail<ValueTest>(QueryErrorKind.InvalidShape, here, $"the object at {Where(here)} holds '{name}', which is not an operator; reach nested fields with a dotted path such as '{Join(here, name)}'");
            }

            var test = CountNode(here) ? CompileOperator(name, property.Value, here, depth) : null;
            if (test is null)
            {
                return null;
            }

            tests[i++] = test;
        }

        return tests.Length == 1 ? tests[0] : new AllOfTest(tests);
    }

    private ValueTest? CompileOperator(string name, JToken operand, string here, int depth)
    {
        QueryValue constant;
        switch (name)
        {
            case QueryOperators.Eq or QueryOperators.Ne:
                if (!TryReadScalar(operand, here, $"'{name}'", allowNull: true, out constant))
                {
                    return null;
                }

                return name == QueryOperators.Eq ? new EqualsTest(constant) : new NotTest(new EqualsTest(constant));
            case QueryOperators.Gt or QueryOperators.Gte or QueryOperators.Lt or QueryOperators.Lte:
                if (operand.Type is not (JTokenType.Integer or JTokenType.Float or JTokenType.String))
                {
                    return Fail<ValueTest>(QueryErrorKind.InvalidOperand, here, $"'{name}' at {Where(here)} needs a number or a string, not {JsonPayload.Describe(operand.Type)}");
                }

                return TryReadScalar(operand, here, $"'{name}'", allowNull: false, out constant)
                    ? new CompareTest(constant, QueryOperators.Comparison(name))
                    : null;
            case QueryOperators.In or QueryOperators.Nin:
                var constants = CompileList(name, operand, here, depth);
                return constants is null ? null
                    : name == QueryOperators.In ? new InTest(constants) : new NotTest(new InTest(constants));
            case QueryOperators.Contains or QueryOperators.NotContains:
                if (!TryReadScalar(operand, here, $"'{name}'", allowNull: false, out constant))
                {
                    return null;
                }

                return name == QueryOperators.Contains ? new ContainsTest(constant) : new NotTest(new ContainsTest(constant));
            case QueryOperators.Exists:
                return operand.Type == JTokenType.Boolean
                    ? new ExistsTest((bool)operand)
                    : Fail<ValueTest>(QueryErrorKind.InvalidOperand, here, $"'{name}' at {Where(here)} needs true or false, not {JsonPayload.Describe(operand.Type)}");
            case QueryOperators.Not:
                // A field's $not takes whatever a field takes: {"load": {"$not": X}} is the negation of {"load": X}.
                var inner = CompileCondition(operand, Join(here, QueryOperators.Not), depth + 1);
                return inner is null ? null : new NotTest(inner);
            case QueryOperators.And or QueryOperators.Or:
                return Fail<ValueTest>(QueryErrorKind.InvalidShape, here, $"'{name}' combines filters and cannot apply to a field, at {Where(here)}; write {{\"{name}\": [{{…}}, {{…}}]}} around whole filters");
            case QueryOperators.Min or QueryOperators.Max:
                return Fail<ValueTest>(QueryErrorKind.InvalidShape, here, $"the selector '{name}' may only appear at the top level of the query, not at {Where(here)}");
            default:
                return Fail<ValueTest>(QueryErrorKind.UnknownOperator, here, $"unknown operator '{name}' at {Where(here)}");
        }
    }

    private QueryValue[]? CompileList(string name, JToken operand, string here, int depth)
    {
        if (operand is not JArray array)
        {
            return Fail<QueryValue[]>(QueryErrorKind.InvalidOperand, here, $"'{name}' at {Where(here)} needs an array, not {JsonPayload.Describe(operand.Type)}");
        }

        if (!CheckDepth(depth + 1, here) || !CheckArrayLength(array, name, here))
        {
            return null;
        }

        var constants = new QueryValue[array.Count];
        for (var i = 0; i < array.Count; i++)
        {
            if (!CountNode(here)
                || !TryReadScalar(array[i], here, $"element {i.ToString(CultureInfo.InvariantCulture)} of '{name}'", allowNull: true, out constants[i]))
            {
                return null;
            }
        }

        return constants;
    }

    // Constants are strings, numbers, booleans and (where allowed) null; never arrays, objects or JSON.NET-only types.
    private bool TryReadScalar(JToken token, string here, string what, bool allowNull, out QueryValue value)
    {
        value = default;
        var expected = allowNull ? "a string, number, boolean or null" : "a string, number or boolean";
        if ((token.Type == JTokenType.Null && !allowNull) || !QueryValue.TryCreate(token, out value))
        {
            Report(QueryErrorKind.InvalidOperand, here, $"{what} at {Where(here)} must be {expected}, not {JsonPayload.Describe(token.Type)}");
            return false;
        }

        if (value.Text is { Length: var length } && length > _limits.MaxStringLength)
        {
            Report(QueryErrorKind.TooLarge, here, $"{what} at {Where(here)} is longer than {_limits.MaxStringLength} characters");
            return false;
        }

        return true;
    }

    private bool CheckDepth(int depth, string path)
    {
        if (depth <= _limits.MaxDepth)
        {
            return true;
        }

        Report(QueryErrorKind.TooDeep, path, $"the query nests deeper than {_limits.MaxDepth} levels at {Where(path)}");
        return false;
    }

    private bool CheckArrayLength(JArray array, string name, string path)
    {
        if (array.Count <= _limits.MaxArrayLength)
        {
            return true;
        }

        Report(QueryErrorKind.TooLarge, path, $"'{name}' at {Where(path)} has {array.Count} elements, more than {_limits.MaxArrayLength}");
        return false;
    }

    private bool CountNode(string path)
    {
        if (++_nodes <= _limits.MaxNodes)
        {
            return true;
        }

        Report(QueryErrorKind.TooLarge, path, $"the query has more than {_limits.MaxNodes} nodes (reached at {Where(path)})");
        return false;
    }

    // Returns null so that callers can write `return Fail(...)` whatever they return.
    private T? Fail<T>(QueryErrorKind kind, string path, string message)
        where T : class
    {
        _error ??= new QueryError(kind, path, message);
        return null;
    }

    private void Report(QueryErrorKind kind, string path, string message) => Fail<object>(kind, path, message);

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Where(string path) => path.Length == 0 ? "the top level" : $"'{path}'";
}
