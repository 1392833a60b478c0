namespace Thynapse.Core.Tests.Messages;

/// <summary>The frame writer: the bytes of <see cref="JsonPayload.Frame"/>, whatever the strings hold, and the J EVNT reader's cost.</summary>
[TestClass]
public sealed class JsonMessageTests
{
    [TestMethod]
    [DataRow("plain")]
    [DataRow("caf\u00e9 \ud83d\ude80")]
    [DataRow("\u0000\u0001\u001f \b\f\n\r\t")]
    [DataRow("\"quoted\" \\ back/slash")]
    [DataRow("\u2028\u2029\u0085 </script> ' &")]
    [DataRow("\ud800 a lone surrogate")]
    public void ToFrame_IsTheFrameOfTheEquivalentObject(string text)
    {
        var message = new ErrorMessage(ThynapseErrorCode.InvalidField, text) { RefusedCommand = "EVNT", Ref = new JValue(text) };

        CollectionAssert.AreEqual(JsonPayload.Frame(Command.Errr, message.ToJson()), message.ToFrame());
    }

    [TestMethod]
    public void ToFrame_ALargeFrameLeavesNothingBehindForTheNext()
    {
        var large = new ErrorMessage(ThynapseErrorCode.InvalidField, new string('x', 200_000)).ToFrame();
        var small = new CreditMessage(5).ToFrame();
        var again = new ErrorMessage(ThynapseErrorCode.InvalidField, new string('y', 1000)).ToFrame();

        Assert.HasCount(FrameHeader.PayloadOffset + 200_000 + "{\"code\":105,\"name\":\"INVALID_FIELD\",\"message\":\"\"}".Length, large);
        Assert.AreEqual("J CRED {\"credit\":5}", Encoding.UTF8.GetString(small));
        CollectionAssert.AreEqual(JsonPayload.Frame(Command.Errr, new JObject { ["code"] = 105, ["name"] = "INVALID_FIELD", ["message"] = new string('y', 1000) }), again);
    }

    [TestMethod]
    public void ToFrame_OnManyThreadsAtOnce_GivesEachItsOwnBytes()
    {
        var frames = new string[64];
        Parallel.For(0, frames.Length, i => frames[i] = Encoding.UTF8.GetString(new AcceptMessage((ulong)i, (uint)i).ToFrame()));

        for (var i = 0; i < frames.Length; i++)
        {
            Assert.AreEqual($"J ACPT {{\"seq\":{i},\"receivers\":{i}}}", frames[i]);
        }
    }

    [TestMethod]
    public void EventTryRead_AfterWarmUp_AllocatesNothing()
    {
        // The J EVNT payload is a JObject already (the transmitter parses every J payload before the session check);
        // reading it as an EventMessage adds no allocation, where today's FieldReader is one object per event.
        var payload = JObject.Parse("{\"channel\":\"orders.created\",\"seq\":7,\"confirm\":true,\"complete\":false,\"key\":\"customer-42\",\"ref\":3}");
        var limits = MessageLimits.Default;
        Assert.IsTrue(EventMessage.TryRead(payload, limits, out var warm, out _, out var error), error);

        var before = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            EventMessage.TryRead(payload, limits, out var message, out _, out _);
            sum += message.Seq!.Value;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.AreEqual(0L, allocated, $"{allocated} bytes over 1,000 reads");
        Assert.AreEqual(7000UL, sum);
        Assert.AreEqual("customer-42", warm.Key);
    }
}
