namespace Thynapse.Core.Tests.Messages;

/// <summary>
/// Bad cell → transmitter payloads with the code and the text the transmitter answers today (transmitter/ at f2ce6b5:
/// SessionLifecycle.HandleHelo, EventRouter.HandleJsonEvent and RouteEvent, SubscriptionManager.TryRead and ReadHelo,
/// AnycatchTracker.TryReadTags and HandleNack, CellDiscovery.HandleMeta and TryReadFilter, TargetCache.TryRead,
/// ProfileFields.ReadTags). The limits are those of Thynapse.Transmitter.Tests' BadInputTests: 3 subscriptions per
/// cell, 512 bytes of metadata.
/// </summary>
public static class RefusalCases
{
    public const string Id = "0e971517075766d59313108d4922947dce30b2a7";

    public static MessageLimits Limits { get; } = new() { MaxSubscriptionsPerCell = 3, MaxMetadataBytes = 512 };

    private static readonly string Blob = "{\"blob\":\"" + new string('x', 600) + "\"}";

    private static readonly string Deep = string.Concat(Enumerable.Repeat("{\"$not\":", 20)) + "{}" + new string('}', 20);

    private static readonly string Large = "{\"x\":{\"$in\":[" + string.Join(",", Enumerable.Range(0, 200)) + "]}}";

    private static readonly string SixtyFiveTags = "[" + string.Join(",", Enumerable.Range(0, 65).Select(i => $"\"t{i}\"")) + "]";

    /// <summary>(command, payload, code, message).</summary>
    public static IEnumerable<object[]> All =>
    [
        // HELO (PROTOCOL.md §5.1): the protocol version first, then every field's type, tags, id, service, encodings, subs; metadata.
        ["HELO", "{}", ThynapseErrorCode.InvalidField, "field 'id' is required"],
        ["HELO", $"{{\"id\":\"{Id}\"}}", ThynapseErrorCode.InvalidField, "field 'service' is required"],
        ["HELO", "{\"id\":42,\"service\":\"s\"}", ThynapseErrorCode.InvalidField, "field 'id' must be a string, not a number"],
        ["HELO", "{\"id\":\"not-a-thid\",\"service\":\"s\"}", ThynapseErrorCode.InvalidField, "field 'id' must be a THID: 40 hexadecimal characters"],
        ["HELO", "{\"id\":\"not-a-thid\",\"service\":5}", ThynapseErrorCode.InvalidField, "field 'service' must be a string, not a number"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"bad service\"}}", ThynapseErrorCode.InvalidField, "field 'service': the service name contains ' ' (allowed: letters, digits, '_', '-', '.')"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"\"}}", ThynapseErrorCode.InvalidField, "field 'service': the service name is empty"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":[\"s\"]}}", ThynapseErrorCode.InvalidField, "field 'service' must be a string, not an array"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"encodings\":\"B\"}}", ThynapseErrorCode.InvalidField, "field 'encodings' must be an array, not a string"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"encodings\":[\"B\",1]}}", ThynapseErrorCode.InvalidField, "field 'encodings' must be an array of strings such as [\"B\", \"J\"]"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"protocol\":2}}", ThynapseErrorCode.UnsupportedProtocol, "this transmitter speaks protocol 1, not 2"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"protocol\":0}}", ThynapseErrorCode.UnsupportedProtocol, "this transmitter speaks protocol 1, not 0"],
        // The version is checked before every other field (as the transmitter does since dec9436).
        ["HELO", "{\"protocol\":2,\"id\":42,\"encodings\":\"B\"}", ThynapseErrorCode.UnsupportedProtocol, "this transmitter speaks protocol 1, not 2"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"protocol\":-1}}", ThynapseErrorCode.InvalidField, "field 'protocol' must be a non-negative integer below 2^64, not a number"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"protocol\":1.0}}", ThynapseErrorCode.InvalidField, "field 'protocol' must be a non-negative integer, not a number"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"protocol\":\"1\"}}", ThynapseErrorCode.InvalidField, "field 'protocol' must be a non-negative integer, not a string"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"credit\":\"yes\"}}", ThynapseErrorCode.InvalidField, "field 'credit' must be a boolean, not a string"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"resume\":5}}", ThynapseErrorCode.InvalidField, "field 'resume' must be a string, not a number"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"metadata\":[1]}}", ThynapseErrorCode.InvalidField, "field 'metadata' must be an object, not an array"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"metadata\":{Blob}}}", ThynapseErrorCode.MetadataTooLarge, "the metadata takes 611 bytes; the limit is 512"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"protocol\":2,\"metadata\":{Blob}}}", ThynapseErrorCode.UnsupportedProtocol, "this transmitter speaks protocol 1, not 2"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"tags\":{SixtyFiveTags}}}", ThynapseErrorCode.InvalidField, "field 'tags' has 65 entries; the limit is 64"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"tags\":[\"\"]}}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of strings of 1 to 64 characters"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"tags\":[\"{new string('t', 65)}\"]}}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of strings of 1 to 64 characters"],
        ["HELO", "{\"id\":\"not-a-thid\",\"service\":\"s\",\"tags\":[1]}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of strings of 1 to 64 characters"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":{{}}}}", ThynapseErrorCode.InvalidField, "field 'subs' must be an array, not an object"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[5]}}", ThynapseErrorCode.InvalidField, "subs[0] must be an object with 'sub', 'pattern' and 'mode'"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a\"}},null]}}", ThynapseErrorCode.InvalidField, "subs[1] must be an object with 'sub', 'pattern' and 'mode'"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"pattern\":\"a\"}}]}}", ThynapseErrorCode.InvalidField, "subs[0]: field 'sub' is required"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a.>.b\"}}]}}", ThynapseErrorCode.InvalidPattern, "subs[0]: invalid pattern 'a.>.b': '>' may only be the last token of a pattern (token 2)"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a\",\"mode\":\"all\"}}]}}", ThynapseErrorCode.InvalidMode, "subs[0]: mode must be \"multi\" or \"any\", not \"all\""],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a\",\"ack\":true}}]}}", ThynapseErrorCode.InvalidField, "subs[0]: multicatch events are not acknowledged: 'ack' needs mode \"any\""],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a\"}},{{\"sub\":1,\"pattern\":\"b\"}}]}}", ThynapseErrorCode.DuplicateSubscription, "subs[1]: subscription id 1 appears twice"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a\"}},{{\"sub\":2,\"pattern\":\"b\"}},{{\"sub\":3,\"pattern\":\"c\"}},{{\"sub\":4,\"pattern\":\"d\"}}]}}", ThynapseErrorCode.TooManySubscriptions, "field 'subs' has 4 entries; the limit is 3"],
        ["HELO", $"{{\"id\":\"{Id}\",\"service\":\"s\",\"subs\":[{{\"sub\":1,\"pattern\":\"a.>.b\"}}],\"metadata\":{Blob}}}", ThynapseErrorCode.InvalidPattern, "subs[0]: invalid pattern 'a.>.b': '>' may only be the last token of a pattern (token 2)"],

        // J EVNT (§5.3): field types and the key; the channel; the target, then the service; a reserved channel.
        ["EVNT", "{}", ThynapseErrorCode.InvalidField, "field 'channel' is required"],
        ["EVNT", "{\"channel\":5}", ThynapseErrorCode.InvalidField, "field 'channel' must be a string, not a number"],
        ["EVNT", "{\"channel\":\"a\",\"seq\":-1}", ThynapseErrorCode.InvalidField, "field 'seq' must be a non-negative integer below 2^64, not a number"],
        ["EVNT", "{\"channel\":\"a\",\"seq\":18446744073709551616}", ThynapseErrorCode.InvalidField, "field 'seq' must be a non-negative integer below 2^64, not a number"],
        ["EVNT", "{\"channel\":\"a\",\"seq\":\"7\"}", ThynapseErrorCode.InvalidField, "field 'seq' must be a non-negative integer, not a string"],
        ["EVNT", "{\"channel\":\"a\",\"confirm\":\"yes\"}", ThynapseErrorCode.InvalidField, "field 'confirm' must be a boolean, not a string"],
        ["EVNT", "{\"channel\":\"a\",\"complete\":1}", ThynapseErrorCode.InvalidField, "field 'complete' must be a boolean, not a number"],
        ["EVNT", "{\"channel\":\"a\",\"resend\":{}}", ThynapseErrorCode.InvalidField, "field 'resend' must be a boolean, not an object"],
        ["EVNT", "{\"channel\":\"a\",\"key\":7}", ThynapseErrorCode.InvalidField, "field 'key' must be a string, not a number"],
        ["EVNT", $"{{\"channel\":\"a\",\"key\":\"{new string('\u00e9', 513)}\"}}", ThynapseErrorCode.InvalidField, "field 'key' has more than 1024 bytes of UTF-8"],
        ["EVNT", "{\"channel\":\"a..b\",\"confirm\":\"yes\"}", ThynapseErrorCode.InvalidField, "field 'confirm' must be a boolean, not a string"],
        ["EVNT", "{\"channel\":\"a..b\"}", ThynapseErrorCode.InvalidChannel, "invalid channel: token 2 of the channel is empty"],
        ["EVNT", "{\"channel\":\"a.*\"}", ThynapseErrorCode.InvalidChannel, "invalid channel: a channel cannot contain the wildcard '*' (token 2)"],
        ["EVNT", "{\"channel\":\"orders.#\"}", ThynapseErrorCode.InvalidChannel, "invalid channel: '#' cannot be a whole token of a channel (token 2): it is reserved, as the wildcard it looks like"],
        ["EVNT", "{\"channel\":\"caf\u00e9\"}", ThynapseErrorCode.InvalidChannel, "invalid channel: token 1 of the channel contains a character outside printable ASCII (U+00E9)"],
        ["EVNT", "{\"channel\":\"\"}", ThynapseErrorCode.InvalidChannel, "invalid channel: the channel is empty"],
        ["EVNT", $"{{\"channel\":\"{new string('a', 256)}\"}}", ThynapseErrorCode.InvalidChannel, "invalid channel: the channel is longer than 255 characters"],
        ["EVNT", "{\"channel\":\"$DLQ.billing\"}", ThynapseErrorCode.ReservedChannel, "channels starting with '$' belong to the transmitters"],
        ["EVNT", "{\"channel\":\"a\",\"target\":{\"load\":{\"$foo\":1}}}", ThynapseErrorCode.InvalidQuery, "target: unknown operator '$foo' at 'load'"],
        ["EVNT", "{\"channel\":\"a\",\"target\":{\"tags\":{\"$in\":5}}}", ThynapseErrorCode.InvalidQuery, "target: '$in' at 'tags' needs an array, not a number"],
        ["EVNT", "{\"channel\":\"a\",\"target\":[1]}", ThynapseErrorCode.InvalidQuery, "target: a filter must be an object, not an array, at the top level"],
        ["EVNT", "{\"channel\":\"a\",\"target\":\"eu\"}", ThynapseErrorCode.InvalidQuery, "target: a filter must be an object, not a string, at the top level"],
        ["EVNT", "{\"channel\":\"a\",\"target\":" + Deep + "}", ThynapseErrorCode.QueryTooDeep, "target: the query nests deeper than 16 levels at '$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not'"],
        ["EVNT", "{\"channel\":\"a\",\"target\":" + Large + "}", ThynapseErrorCode.QueryTooLarge, "target: '$in' at 'x' has 200 elements, more than 128"],
        ["EVNT", "{\"channel\":\"a\",\"service\":\"bad name\"}", ThynapseErrorCode.InvalidField, "field 'service': the service name contains ' ' (allowed: letters, digits, '_', '-', '.')"],
        ["EVNT", "{\"channel\":\"a\",\"service\":5}", ThynapseErrorCode.InvalidField, "field 'service': the service name is empty"],
        ["EVNT", "{\"channel\":\"a..b\",\"target\":[1]}", ThynapseErrorCode.InvalidChannel, "invalid channel: token 2 of the channel is empty"],
        ["EVNT", "{\"channel\":\"$x\",\"target\":{\"load\":{\"$foo\":1}}}", ThynapseErrorCode.InvalidQuery, "target: unknown operator '$foo' at 'load'"],
        ["EVNT", "{\"channel\":\"$x\",\"service\":\"bad name\"}", ThynapseErrorCode.InvalidField, "field 'service': the service name contains ' ' (allowed: letters, digits, '_', '-', '.')"],
        ["EVNT", "{\"channel\":\"a\",\"target\":{\"load\":{\"$foo\":1}},\"service\":\"bad name\"}", ThynapseErrorCode.InvalidQuery, "target: unknown operator '$foo' at 'load'"],

        // SUBS (§5.6): field types; the pattern; the mode; the acknowledgement settings.
        ["SUBS", "{\"sub\":\"one\",\"pattern\":\"a\"}", ThynapseErrorCode.InvalidField, "field 'sub' must be a non-negative integer, not a string"],
        ["SUBS", "{\"sub\":1}", ThynapseErrorCode.InvalidField, "field 'pattern' is required"],
        ["SUBS", "{\"pattern\":\"a\"}", ThynapseErrorCode.InvalidField, "field 'sub' is required"],
        ["SUBS", "{\"sub\":4294967296,\"pattern\":\"a\"}", ThynapseErrorCode.InvalidField, "field 'sub' must be below 2^32"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":5}", ThynapseErrorCode.InvalidField, "field 'mode' must be a string, not a number"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"ack\":\"yes\"}", ThynapseErrorCode.InvalidField, "field 'ack' must be a boolean, not a string"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"prefetch\":-1}", ThynapseErrorCode.InvalidField, "field 'prefetch' must be a non-negative integer below 2^64, not a number"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a.>.b\"}", ThynapseErrorCode.InvalidPattern, "invalid pattern 'a.>.b': '>' may only be the last token of a pattern (token 2)"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a*\"}", ThynapseErrorCode.InvalidPattern, "invalid pattern 'a*': '*' must be a whole token (token 1 is 'a*')"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"orders.#\"}", ThynapseErrorCode.InvalidPattern, "invalid pattern 'orders.#': '#' is not a wildcard here (token 2): use '>' for one or more trailing tokens, '*' for exactly one"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"\"}", ThynapseErrorCode.InvalidPattern, "invalid pattern '': the pattern is empty"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a.>.b\",\"mode\":\"all\"}", ThynapseErrorCode.InvalidPattern, "invalid pattern 'a.>.b': '>' may only be the last token of a pattern (token 2)"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"all\"}", ThynapseErrorCode.InvalidMode, "mode must be \"multi\" or \"any\", not \"all\""],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"all\",\"ack\":true,\"prefetch\":0}", ThynapseErrorCode.InvalidMode, "mode must be \"multi\" or \"any\", not \"all\""],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"ack\":true}", ThynapseErrorCode.InvalidField, "multicatch events are not acknowledged: 'ack' needs mode \"any\""],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"multi\",\"ack\":true,\"prefetch\":0}", ThynapseErrorCode.InvalidField, "multicatch events are not acknowledged: 'ack' needs mode \"any\""],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"prefetch\":0}", ThynapseErrorCode.InvalidField, "field 'prefetch' must be between 1 and 65535"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"prefetch\":65536}", ThynapseErrorCode.InvalidField, "field 'prefetch' must be between 1 and 65535"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"prefetch\":70000}", ThynapseErrorCode.InvalidField, "field 'prefetch' must be between 1 and 65535"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"ackTimeout\":5}", ThynapseErrorCode.InvalidField, "field 'ackTimeout' must be between 10 and 3600000 (milliseconds)"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"ackTimeout\":3600001}", ThynapseErrorCode.InvalidField, "field 'ackTimeout' must be between 10 and 3600000 (milliseconds)"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"maxAttempts\":0}", ThynapseErrorCode.InvalidField, "field 'maxAttempts' must be between 1 and 1000"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"maxAttempts\":1001}", ThynapseErrorCode.InvalidField, "field 'maxAttempts' must be between 1 and 1000"],
        ["SUBS", "{\"sub\":1,\"pattern\":\"a\",\"mode\":\"any\",\"ack\":true,\"prefetch\":0,\"maxAttempts\":0}", ThynapseErrorCode.InvalidField, "field 'prefetch' must be between 1 and 65535"],

        // UNSB (§5.6).
        ["UNSB", "{}", ThynapseErrorCode.InvalidField, "field 'sub' is required"],
        ["UNSB", "{\"sub\":-1}", ThynapseErrorCode.InvalidField, "field 'sub' must be a non-negative integer below 2^64, not a number"],
        ["UNSB", "{\"sub\":4294967296}", ThynapseErrorCode.InvalidField, "field 'sub' must be below 2^32"],

        // ACKN, PROG (§5.12, §5.13a) and NACK (§5.13).
        ["ACKN", "{}", ThynapseErrorCode.InvalidField, "ACKN needs 'tag' or a non-empty 'tags'"],
        ["ACKN", "{\"tags\":[]}", ThynapseErrorCode.InvalidField, "ACKN needs 'tag' or a non-empty 'tags'"],
        ["ACKN", "{\"tags\":[\"x\"]}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of positive integers below 2^64"],
        ["ACKN", "{\"tags\":[1,0]}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of positive integers below 2^64"],
        ["ACKN", "{\"tags\":[1.5]}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of positive integers below 2^64"],
        ["ACKN", "{\"tags\":5}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array, not a number"],
        ["ACKN", "{\"tag\":\"x\"}", ThynapseErrorCode.InvalidField, "field 'tag' must be a non-negative integer, not a string"],
        ["ACKN", "{\"tag\":\"x\",\"tags\":[0]}", ThynapseErrorCode.InvalidField, "field 'tag' must be a non-negative integer, not a string"],
        ["PROG", "{}", ThynapseErrorCode.InvalidField, "PROG needs 'tag' or a non-empty 'tags'"],
        ["PROG", "{\"tags\":[-3]}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of positive integers below 2^64"],
        ["NACK", "{}", ThynapseErrorCode.InvalidField, "field 'tag' is required"],
        ["NACK", "{\"tag\":1.5}", ThynapseErrorCode.InvalidField, "field 'tag' must be a non-negative integer, not a number"],
        ["NACK", "{\"tag\":1,\"reason\":5}", ThynapseErrorCode.InvalidField, "field 'reason' must be a string, not a number"],
        ["NACK", $"{{\"tag\":1,\"reason\":\"{new string('r', 1025)}\"}}", ThynapseErrorCode.InvalidField, "field 'reason' is longer than 1024 characters"],

        // META (§5.15); its METADATA_TOO_LARGE depends on the cell's metadata (MetadataMessage.TryApply).
        ["META", "{\"metadata\":[1]}", ThynapseErrorCode.InvalidField, "field 'metadata' must be an object, not an array"],
        ["META", "{\"mode\":\"upsert\"}", ThynapseErrorCode.InvalidField, "field 'mode' must be \"merge\" or \"replace\""],
        ["META", "{\"mode\":1}", ThynapseErrorCode.InvalidField, "field 'mode' must be a string, not a number"],
        ["META", "{\"tags\":[1]}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of strings of 1 to 64 characters"],
        ["META", "{\"tags\":" + SixtyFiveTags + "}", ThynapseErrorCode.InvalidField, "field 'tags' has 65 entries; the limit is 64"],
        ["META", "{\"mode\":\"upsert\",\"tags\":[1]}", ThynapseErrorCode.InvalidField, "field 'mode' must be \"merge\" or \"replace\""],
        ["META", "{\"metadata\":" + Blob + "}", ThynapseErrorCode.MetadataTooLarge, "the metadata would take 611 bytes; the limit is 512"],

        // LIST and WTCH (§5.16, §5.17): field types and tags, then the query; WTCH's id first.
        ["LIST", "{\"query\":{\"$or\":[]}}", ThynapseErrorCode.InvalidQuery, "query: '$or' at the top level needs at least one filter"],
        ["LIST", "{\"query\":" + Deep + "}", ThynapseErrorCode.QueryTooDeep, "query: the query nests deeper than 16 levels at '$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not.$not'"],
        ["LIST", "{\"query\":" + Large + "}", ThynapseErrorCode.QueryTooLarge, "query: '$in' at 'x' has 200 elements, more than 128"],
        ["LIST", "{\"query\":[1]}", ThynapseErrorCode.InvalidField, "field 'query' must be an object, not an array"],
        ["LIST", "{\"tags\":\"gpu\"}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array, not a string"],
        ["LIST", "{\"tags\":[\"\"],\"query\":{\"$foo\":1}}", ThynapseErrorCode.InvalidField, "field 'tags' must be an array of strings of 1 to 64 characters"],
        ["LIST", "{\"service\":5}", ThynapseErrorCode.InvalidField, "field 'service' must be a string, not a number"],
        ["WTCH", "{}", ThynapseErrorCode.InvalidField, "field 'watch' is required"],
        ["WTCH", "{\"query\":{\"$foo\":1}}", ThynapseErrorCode.InvalidField, "field 'watch' is required"],
        ["WTCH", "{\"watch\":-1,\"tags\":[\"\"]}", ThynapseErrorCode.InvalidField, "field 'watch' must be a non-negative integer below 2^64, not a number"],
        ["WTCH", "{\"watch\":1,\"query\":{\"$foo\":1}}", ThynapseErrorCode.InvalidQuery, "query: unknown operator '$foo' at the top level"],
        ["UNWT", "{}", ThynapseErrorCode.InvalidField, "field 'watch' is required"],
        ["UNWT", "{\"watch\":\"1\"}", ThynapseErrorCode.InvalidField, "field 'watch' must be a non-negative integer, not a string"],
    ];

    /// <summary>Reads <paramref name="payload"/> with the message type of <paramref name="command"/>.</summary>
    public static (bool Ok, ThynapseErrorCode Code, string? Error) Read(string command, string payload, MessageLimits? limits = null)
    {
        Assert.IsTrue(JsonPayload.TryParse(Encoding.UTF8.GetBytes(payload), out var json, out var invalid), invalid);
        return Read(command, json, limits ?? Limits);
    }

    public static (bool Ok, ThynapseErrorCode Code, string? Error) Read(string command, JObject json, MessageLimits limits)
    {
        ThynapseErrorCode code;
        string? error;
        var ok = command switch
        {
            "HELO" => HelloMessage.TryRead(json, limits, out _, out code, out error),
            "EVNT" => EventMessage.TryRead(json, limits, out _, out code, out error),
            "SUBS" => SubscribeMessage.TryRead(json, limits, out _, out code, out error),
            "UNSB" => UnsubscribeMessage.TryRead(json, limits, out _, out code, out error),
            "ACKN" => AckMessage.TryRead(json, limits, out _, out code, out error),
            "PROG" => ProgressMessage.TryRead(json, limits, out _, out code, out error),
            "NACK" => NackMessage.TryRead(json, limits, out _, out code, out error),
            "META" => ReadMeta(json, limits, out code, out error),
            "LIST" => ListMessage.TryRead(json, limits, out _, out code, out error),
            "WTCH" => WatchMessage.TryRead(json, limits, out _, out code, out error),
            "UNWT" => UnwatchMessage.TryRead(json, limits, out _, out code, out error),
            "BEAT" => HeartbeatMessage.TryRead(json, limits, out _, out code, out error),
            "GBYE" => GoodbyeMessage.TryRead(json, limits, out _, out code, out error),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a cell command"),
        };
        return (ok, code, error);
    }

    /// <summary>META as the transmitter handles it for a cell without metadata: read, then applied.</summary>
    private static bool ReadMeta(JObject json, MessageLimits limits, out ThynapseErrorCode code, out string? error) =>
        MetadataMessage.TryRead(json, limits, out var message, out code, out error) && message.TryApply([], limits, out _, out code, out error);
}
