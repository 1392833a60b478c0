using Newtonsoft.Json;

namespace Thynapse.Core.Tests.Messages;

/// <summary>Assertions and samples shared by the message tests.</summary>
public static class Wire
{
    public static readonly Thid CellId = Thid.Parse("0e971517075766d59313108d4922947dce30b2a7");

    public static readonly Thid TransmitterId = Thid.Parse("7c50f99481f1c25f1ade8b771263a17c0723c1b2");

    /// <summary>Metadata that exercises the writer: escapes, non-ASCII, control characters, fractions, big integers, nesting, null.</summary>
    public static JObject Metadata() => JObject.Parse(
        "{\"region\":\"eu\",\"load\":0.25,\"cpus\":8,\"huge\":18446744073709551616,\"tiny\":1e-7,\"name\":\"caf\\u00e9 \\ud83d\\ude80 \\u2028 \\u0001 </x> \\\"q\\\" \\\\\"," +
        "\"zone\":{\"id\":\"eu-1\",\"racks\":[1,2.5,true,null]},\"spare\":null,\"version\":\"2.10.0\"}");

    /// <summary>
    /// The message's frame is byte for byte the one <see cref="JsonPayload.Frame"/> makes of <paramref name="legacy"/>
    /// (what the current code builds), and its <c>ToJson</c> equals <paramref name="legacy"/>, property order included.
    /// </summary>
    public static void AssertSameAs<T>(JObject legacy, in T message)
        where T : IJsonMessage
    {
        var expected = JsonPayload.Frame(message.Command, legacy);
        var actual = JsonMessage.ToFrame(message);
        Assert.AreEqual(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual));
        CollectionAssert.AreEqual(expected, actual, "the same bytes");
        var json = JsonMessage.ToJson(message);
        Assert.AreEqual(legacy.ToString(Formatting.None), json.ToString(Formatting.None));
        Assert.IsTrue(JToken.DeepEquals(legacy, json), "ToJson equals the legacy object");
    }

    /// <summary>The payload of a frame the message wrote, parsed as a receiver does, after checking its header.</summary>
    public static JObject Payload<T>(in T message)
        where T : IJsonMessage
    {
        var frame = JsonMessage.ToFrame(message);
        Assert.AreEqual(ThynapseErrorCode.None, FrameHeader.TryParse(frame, out var encoding, out var command, out var payload, out var error), error);
        Assert.AreEqual(Encodings.Json, encoding);
        Assert.AreEqual(message.Command, command);
        Assert.IsTrue(JsonPayload.TryParse(payload, out var json, out error), error);
        return json;
    }

    /// <summary>Both messages write the same frame (records that hold lists or JSON compare those by reference).</summary>
    public static void AssertSameFrame<T>(in T expected, in T actual)
        where T : IJsonMessage =>
        Assert.AreEqual(Encoding.UTF8.GetString(JsonMessage.ToFrame(expected)), Encoding.UTF8.GetString(JsonMessage.ToFrame(actual)));
}
