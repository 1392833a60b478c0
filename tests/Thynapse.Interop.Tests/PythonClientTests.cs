using System.ComponentModel;
using System.Text.Json;
using Thynapse.Cell;
using Thynapse.Core;
using Thynapse.ProcessKit;
using Thynapse.TestKit;
using SdkCell = Thynapse.Cell.Cell;

namespace Thynapse.Interop.Tests;

/// <summary>
/// PROTOCOL.md is normative: a client written from it alone must interoperate. tests/interop/thynapse_client.py
/// is such a client (Python, plain pyzmq, J encoding); these tests run it against a real transmitter and a real
/// SDK cell, in both directions.
/// </summary>
[TestClass]
public sealed class PythonClientTests : TestBase
{
    private const string Python = PythonZmq.Python;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    [TestMethod]
    [Timeout(60_000)]
    public async Task PythonClientFromTheSpec_TalksToTransmitterAndSdkCellBothWays()
    {
        await PythonZmq.RequireAsync(Ct);
        var script = Path.Combine(AppContext.BaseDirectory, "interop", "thynapse_client.py");
        Assert.IsTrue(File.Exists(script), $"the Python client was not copied next to the tests: {script}");

        var prefix = TestIds.Next("interop");
        var multiChannel = $"{prefix}.tocell.multi.evt";
        var anyChannel = $"{prefix}.tocell.any.evt";
        var publishChannel = $"{prefix}.fromcell.confirmed";
        var minimalChannel = $"{prefix}.fromcell.minimal";
        const string MultiBody = "multi body from the SDK";
        const string AnyBody = "any body from the SDK ✓";
        const string PublishBody = "body from python ✓";

        await using var transmitter = Transmitters.StartLoopback();
        await using var cell = await SdkCell.ConnectAsync(
            CellOptions.Default with { Transmitter = transmitter.CommandEndpoint, Service = TestIds.Next("interop-sdk") }, Ct);
        var collector = new EventCollector();
        await using var subscription = await cell.SubscribeAsync($"{prefix}.fromcell.*", Catch.Multi, Ct);
        using var observing = subscription.Subscribe(collector);

        using var python = ChildProcess.Start(Python,
            "-u", script,
            "--endpoint", transmitter.CommandEndpoint,
            "--service", TestIds.Next("interop-py"),
            "--multi-pattern", $"{prefix}.tocell.multi.*",
            "--multi-channel", multiChannel,
            "--multi-body", MultiBody,
            "--any-pattern", $"{prefix}.tocell.any.>",
            "--any-channel", anyChannel,
            "--any-body", AnyBody,
            "--publish-channel", publishChannel,
            "--publish-body", PublishBody,
            "--minimal-channel", minimalChannel,
            "--timeout", "10",
            "--delivery-timeout", "20");
        string Output() => $"\n--- python output ---\n{string.Join('\n', python.Lines)}";

        await Eventually.That("the Python client is ready (or has exited)",
            () => Steps(python.Lines).Any(s => StepIs(s, "ready")) || python.HasExited, ReadyTimeout, Ct);
        Assert.IsTrue(Steps(python.Lines).Any(s => StepIs(s, "ready")), $"the Python client exited before it was ready{Output()}");

        var multi = await cell.PublishAsync(multiChannel, MultiBody, cancellationToken: Ct);
        var any = await cell.PublishAsync(anyChannel, AnyBody, cancellationToken: Ct);
        Assert.AreEqual(PublishStatus.Accepted, multi.Status, $"nobody caught {multiChannel}{Output()}");
        Assert.AreEqual(PublishStatus.Accepted, any.Status, $"nobody caught {anyChannel}{Output()}");

        var exitCode = await python.WaitForExitAsync(ExitTimeout, Ct);
        TestContext.WriteLine(Output());
        Assert.AreEqual(0, exitCode, $"the Python client failed{Output()}");

        var steps = Steps(python.Lines);
        var notWelcomed = Single(steps, "not_welcomed", Output());
        Assert.AreEqual(200, notWelcomed.GetProperty("code").GetInt32(), Output());
        Assert.AreEqual("NOT_WELCOMED", notWelcomed.GetProperty("name").GetString(), Output());

        var welcome = Single(steps, "welcome", Output());
        Assert.AreEqual(cell.TransmitterId.ToString(), welcome.GetProperty("transmitter_id").GetString(), Output());
        var pythonId = welcome.GetProperty("cell_id").GetString();

        var deliveries = steps.Where(s => StepIs(s, "delivery")).ToList();
        Assert.HasCount(2, deliveries, Output());

        var multiDelivery = deliveries.Single(d => d.GetProperty("mode").GetString() == "multi");
        Assert.AreEqual(multiChannel, multiDelivery.GetProperty("channel").GetString(), Output());
        Assert.AreEqual(MultiBody, multiDelivery.GetProperty("body").GetString(), Output());
        Assert.AreEqual(multi.Id.ToString(), multiDelivery.GetProperty("id").GetString(), Output());
        Assert.AreEqual(cell.Id.ToString(), multiDelivery.GetProperty("origin").GetString(), Output());
        Assert.AreEqual(multi.Sequence, multiDelivery.GetProperty("seq").GetUInt64(), Output());
        Assert.AreEqual(JsonValueKind.Null, multiDelivery.GetProperty("sub").ValueKind, Output());

        var anyDelivery = deliveries.Single(d => d.GetProperty("mode").GetString() == "any");
        Assert.AreEqual(anyChannel, anyDelivery.GetProperty("channel").GetString(), Output());
        Assert.AreEqual(AnyBody, anyDelivery.GetProperty("body").GetString(), Output());
        Assert.AreEqual(any.Id.ToString(), anyDelivery.GetProperty("id").GetString(), Output());
        Assert.AreEqual(cell.Id.ToString(), anyDelivery.GetProperty("origin").GetString(), Output());
        Assert.AreEqual(2, anyDelivery.GetProperty("sub").GetInt32(), Output());
        Assert.AreEqual(1, anyDelivery.GetProperty("attempt").GetInt32(), Output());

        var accepted = Single(steps, "accepted", Output());
        Assert.AreEqual(1, accepted.GetProperty("seq").GetInt32(), Output());
        Assert.IsGreaterThanOrEqualTo(1, accepted.GetProperty("receivers").GetInt32(), Output());
        Single(steps, "published_minimal", Output());
        Single(steps, "beat", Output());
        Single(steps, "goodbye", Output());
        Single(steps, "done", Output());

        // The other direction: the SDK cell caught both of the Python client's events.
        await collector.WaitForAsync(2, "the SDK cell", Ct);
        var events = collector.Events;
        Assert.HasCount(2, events);
        var confirmed = events.Single(e => e.Channel == publishChannel);
        Assert.AreEqual(PublishBody, confirmed.BodyAsString());
        Assert.AreEqual(pythonId, confirmed.Origin.ToString());
        Assert.AreEqual(1UL, confirmed.Sequence);
        Assert.AreEqual(Catch.Multi, confirmed.Mode);
        Assert.AreEqual(accepted.GetProperty("id").GetString(), confirmed.Id.ToString(),
            "the event THID the Python client computed (PROTOCOL.md §4.3) differs from the SDK's");
        var minimal = events.Single(e => e.Channel == minimalChannel);
        Assert.AreEqual(0, minimal.Body.Length);
        Assert.AreEqual(pythonId, minimal.Origin.ToString());
        Assert.AreEqual(Catch.Multi, minimal.Mode);
    }

    private static List<JsonElement> Steps(IEnumerable<string> lines)
    {
        var steps = new List<JsonElement>();
        foreach (var line in lines)
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                steps.Add(document.RootElement.Clone());
            }
            catch (JsonException)
            {
                // Not one of the client's step lines.
            }
        }

        return steps;
    }

    private static bool StepIs(JsonElement step, string name) =>
        step.ValueKind == JsonValueKind.Object
        && step.TryGetProperty("step", out var value)
        && value.ValueKind == JsonValueKind.String
        && value.GetString() == name;

    private static JsonElement Single(List<JsonElement> steps, string name, string output)
    {
        var matching = steps.Where(s => StepIs(s, name)).ToList();
        Assert.HasCount(1, matching, $"expected exactly one '{name}' step{output}");
        return matching[0];
    }
}
