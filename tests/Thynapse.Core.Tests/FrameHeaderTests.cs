namespace Thynapse.Core.Tests;

[TestClass]
public sealed class FrameHeaderTests
{
    [TestMethod]
    [DataRow("J HELO {\"id\":1}", (byte)'J', Command.Helo, "{\"id\":1}")]
    [DataRow("J BEAT", (byte)'J', Command.Beat, "")]
    [DataRow("J BEAT ", (byte)'J', Command.Beat, "")]
    [DataRow("B EVNT xyz", (byte)'B', Command.Evnt, "xyz")]
    [DataRow("J ABCD {}", (byte)'J', Command.Unknown, "{}")]
    public void TryParse_SplitsAHeader(string frame, byte encoding, Command command, string payload)
    {
        var code = FrameHeader.TryParse(Encoding.ASCII.GetBytes(frame), out var e, out var c, out var p, out var error);

        Assert.AreEqual(ThynapseErrorCode.None, code, error);
        Assert.AreEqual(encoding, e);
        Assert.AreEqual(command, c);
        Assert.AreEqual(payload, Encoding.ASCII.GetString(p));
    }

    [TestMethod]
    [DataRow("", ThynapseErrorCode.MalformedHeader)]
    [DataRow("J HEL", ThynapseErrorCode.MalformedHeader)]
    [DataRow("JHELO {}", ThynapseErrorCode.MalformedHeader)]
    [DataRow("J HELO{}", ThynapseErrorCode.MalformedHeader)]
    [DataRow("J helo {}", ThynapseErrorCode.MalformedHeader)]
    [DataRow("J HE1O {}", ThynapseErrorCode.MalformedHeader)]
    [DataRow("X HELO {}", ThynapseErrorCode.UnknownEncoding)]
    [DataRow("j HELO {}", ThynapseErrorCode.UnknownEncoding)]
    public void TryParse_RefusesMalformedHeaders(string frame, ThynapseErrorCode expected)
    {
        Assert.AreEqual(expected, FrameHeader.TryParse(Encoding.ASCII.GetBytes(frame), out _, out _, out _, out var error));
        Assert.IsFalse(string.IsNullOrEmpty(error));
    }

    [TestMethod]
    public void WritePrefix_WritesTheSevenBytePrefix()
    {
        var buffer = new byte[7];
        Assert.AreEqual(7, FrameHeader.WritePrefix(buffer, Encodings.Binary, Command.Dlvr));
        Assert.AreEqual("B DLVR ", Encoding.ASCII.GetString(buffer));
    }

    [TestMethod]
    public void CommandNames_MapEveryCommandBothWays()
    {
        foreach (var command in Enum.GetValues<Command>().Where(c => c != Command.Unknown))
        {
            var name = CommandNames.Of(command);
            Assert.AreEqual(command, CommandNames.Parse(Encoding.ASCII.GetBytes(name)), name);
        }
    }

    [TestMethod]
    public void ErrorCodeNames_AreUpperSnakeCase()
    {
        Assert.AreEqual("FRAME_TOO_LARGE", ErrorCodeNames.Of(ThynapseErrorCode.FrameTooLarge));
        Assert.AreEqual("NOT_WELCOMED", ErrorCodeNames.Of(ThynapseErrorCode.NotWelcomed));
        Assert.AreEqual("ID_IN_USE", ErrorCodeNames.Of(ThynapseErrorCode.IdInUse));
    }
}
