namespace Thynapse.Core.Tests.Messages;

/// <summary>
/// Each cell → transmitter message refuses what the transmitter refuses today, with the same code and the same text
/// (PROTOCOL.md §5, §7), and in the same order when a payload has several problems.
/// </summary>
[TestClass]
public sealed class CellMessageRefusalTests
{
    [TestMethod]
    [DynamicData(nameof(RefusalCases.All), typeof(RefusalCases))]
    public void TryRead_RefusesWithTheTransmittersCodeAndText(string command, string payload, ThynapseErrorCode code, string message)
    {
        var (ok, actualCode, error) = RefusalCases.Read(command, payload);

        Assert.IsFalse(ok, $"{command} {payload}");
        Assert.AreEqual(code, actualCode, error);
        Assert.AreEqual(message, error);
    }
}
