namespace Thynapse.Core.Tests;

[TestClass]
public sealed class JsonPayloadTests
{
    [TestMethod]
    public void TryParse_ReadsAnObject()
    {
        Assert.IsTrue(JsonPayload.TryParse("{\"a\":1,\"b\":\"2023-01-01T00:00:00Z\"}"u8, out var value, out _));
        Assert.AreEqual(1, value.Value<int>("a"));
        // Dates stay strings: a transmitter must not reinterpret what cells send.
        Assert.AreEqual(JTokenType.String, value["b"]!.Type);
    }

    [TestMethod]
    public void TryParse_TreatsAnEmptyPayloadAsAnEmptyObject()
    {
        Assert.IsTrue(JsonPayload.TryParse(ReadOnlySpan<byte>.Empty, out var value, out _));
        Assert.IsEmpty(value);
    }

    [TestMethod]
    [DataRow("[1,2]", "must be a JSON object")]
    [DataRow("42", "must be a JSON object")]
    [DataRow("{", "invalid JSON")]
    [DataRow("{\"a\":}", "invalid JSON")]
    [DataRow("{} {}", "after")]
    [DataRow("{\"a\":1,\"a\":2}", "invalid JSON")]
    [DataRow("not json", "invalid JSON")]
    public void TryParse_RefusesWithAReason(string payload, string reason)
    {
        Assert.IsFalse(JsonPayload.TryParse(Encoding.UTF8.GetBytes(payload), out _, out var error));
        Assert.Contains(reason, error);
    }

    [TestMethod]
    public void TryParse_RefusesInvalidUtf8()
    {
        Assert.IsFalse(JsonPayload.TryParse(new byte[] { (byte)'{', 0xff, (byte)'}' }, out _, out var error));
        Assert.Contains("UTF-8", error);
    }

    [TestMethod]
    public void TryParse_RefusesDeepNesting()
    {
        var deep = new string('[', 40) + new string(']', 40);
        Assert.IsFalse(JsonPayload.TryParse(Encoding.UTF8.GetBytes($"{{\"a\":{deep}}}"), out _, out var error));
        Assert.Contains("depth", error, StringComparison.OrdinalIgnoreCase);
    }

    [TestMethod]
    public void FieldReader_ReportsTheFirstProblemByName()
    {
        var fields = new FieldReader(JObject.Parse("{\"channel\":5,\"seq\":-1,\"confirm\":\"yes\"}"));

        Assert.IsNull(fields.GetString("channel", required: true));
        Assert.IsNull(fields.GetUInt64("seq"));
        Assert.IsNull(fields.GetBoolean("confirm"));
        Assert.AreEqual("field 'channel' must be a string, not a number", fields.Error);
    }

    [TestMethod]
    public void FieldReader_ReadsTypedValues()
    {
        var fields = new FieldReader(JObject.Parse("{\"s\":\"x\",\"n\":18446744073709551615,\"u\":7,\"b\":true,\"o\":{},\"a\":[],\"z\":null}"));

        Assert.AreEqual("x", fields.GetString("s"));
        Assert.AreEqual(ulong.MaxValue, fields.GetUInt64("n"));
        Assert.AreEqual(7U, fields.GetUInt32("u"));
        Assert.IsTrue(fields.GetBoolean("b"));
        Assert.IsNotNull(fields.GetObject("o"));
        Assert.IsNotNull(fields.GetArray("a"));
        Assert.IsNull(fields.GetString("z"), "null counts as absent");
        Assert.IsNull(fields.Error);
    }

    [TestMethod]
    [DataRow("{}", "field 'x' is required")]
    [DataRow("{\"x\":4294967296}", "below 2^32")]
    [DataRow("{\"x\":1.5}", "non-negative integer")]
    [DataRow("{\"x\":\"1\"}", "non-negative integer")]
    public void FieldReader_ChecksUInt32(string json, string reason)
    {
        var fields = new FieldReader(JObject.Parse(json));
        fields.GetUInt32("x", required: true);
        Assert.Contains(reason, fields.Error ?? "");
    }
}
