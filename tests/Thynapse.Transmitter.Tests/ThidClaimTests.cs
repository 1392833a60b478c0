namespace Thynapse.Transmitter.Tests;

/// <summary>
/// A THID belongs to its cell (PROTOCOL.md §4.4): for <see cref="TransmitterOptions.IdReservation"/> after its session
/// ends without a goodbye, only the session's resume token claims it; the token is never shown to other cells.
/// </summary>
[TestClass]
public sealed class ThidClaimTests : TestBase
{
    [TestMethod]
    [Timeout(15_000)]
    public async Task ExpiredCell_ItsThidCannotBeTakenWithoutItsToken_AndTheCellComesBackWithIt()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(100),
            LivenessTimeout = TimeSpan.FromMilliseconds(2000), // the owner never beats: long enough to be listed on a loaded machine
        });
        var service = TestIds.Next("claim");
        using var owner = new RawClient(transmitter.CommandEndpoint);
        var token = owner.Hello(service).Value<string>("session")!;

        // Another cell lists the owner's THID: the token is nowhere in what it sees.
        using var observer = new RawClient(transmitter.CommandEndpoint);
        observer.Hello(TestIds.Next("observer"));
        observer.SendJson("LIST", new JObject { ["ref"] = 1 });
        var (_, list, _) = observer.ReceiveJson("LIST's answer");
        Assert.Contains(owner.Id.ToString(), list.ToString());
        Assert.DoesNotContain(token, list.ToString());

        // The owner goes silent (a pause, a blip): its session expires.
        await Eventually.That("the owner's session expired", () => transmitter.Stats.CellsExpired >= 1, cancellationToken: Ct);

        using var thief = new RawClient(transmitter.CommandEndpoint);
        thief.SendJson("HELO", new JObject { ["id"] = owner.Id.ToString(), ["service"] = service });
        var refused = thief.ExpectError(ThynapseErrorCode.IdReserved);
        StringAssert.Contains(refused.Value<string>("message"), "re-join with its 'resume' token");
        thief.SendJson("HELO", new JObject { ["id"] = owner.Id.ToString(), ["service"] = service, ["resume"] = Convert.ToHexStringLower(new byte[16]) });
        thief.ExpectError(ThynapseErrorCode.IdReserved);
        Assert.IsGreaterThanOrEqualTo(2, transmitter.Stats.ClaimsRefused);

        // The real cell comes back with its token, on a new connection, and is told it resumed.
        using var returning = new RawClient(transmitter.CommandEndpoint);
        returning.SendJson("HELO", new JObject { ["id"] = owner.Id.ToString(), ["service"] = service, ["resume"] = token });
        var (welcome, _) = returning.Expect("WLCM");
        Assert.AreEqual(token, welcome.Value<string>("session"));
        Assert.AreEqual("silent", welcome["resumed"]?.Value<string>("ended"));
    }

    /// <summary>
    /// A cell whose transmitter restarted comes back with a token the new process never issued; its HELO can be answered
    /// on a connection the cell already gave up (a HELO queued while the port was closed), and that unseen session then
    /// departs and reserves the THID. The new session keeps the cell's token, so the cell's next HELO claims it: found by
    /// RestartFaultTests.SubscribeWhileReconnecting, where the cell was locked out with ID_RESERVED for the whole reservation.
    /// </summary>
    [TestMethod]
    [Timeout(15_000)]
    public async Task UnknownWellFormedToken_IsKept_SoTheCellClaimsTheSessionItNeverSaw()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { MaxFailedAttempts = 0 });
        var service = TestIds.Next("claim");
        var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var unseen = new RawClient(transmitter.CommandEndpoint);
        var id = unseen.Id;
        var welcome = unseen.Hello(service, new JObject { ["resume"] = token });
        Assert.AreEqual(token, welcome.Value<string>("session"), "a well-formed token the transmitter does not know is kept");
        unseen.Dispose(); // the cell never read that welcome: its session departs and reserves the THID
        await Eventually.That("the unseen session ended", () => transmitter.Stats.Cells == 0, cancellationToken: Ct);

        using var thief = new RawClient(transmitter.CommandEndpoint);
        thief.SendJson("HELO", new JObject { ["id"] = id.ToString(), ["service"] = service, ["resume"] = Convert.ToHexStringLower(new byte[16]) });
        thief.ExpectError(ThynapseErrorCode.IdReserved);

        using var cell = new RawClient(transmitter.CommandEndpoint);
        cell.SendJson("HELO", new JObject { ["id"] = id.ToString(), ["service"] = service, ["resume"] = token });
        var (again, _) = cell.Expect("WLCM");
        Assert.AreEqual(token, again.Value<string>("session"));
        Assert.IsNotNull(again["resumed"], "the cell takes over the session it never saw");

        using var weak = new RawClient(transmitter.CommandEndpoint);
        var other = weak.Hello(TestIds.Next("weak"), new JObject { ["resume"] = "1234" });
        Assert.AreNotEqual("1234", other.Value<string>("session"), "a token not made as a transmitter makes them is replaced");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task DisconnectedCell_ItsThidIsReservedToo()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { MaxFailedAttempts = 0 }); // the thief retries fast
        var service = TestIds.Next("claim");
        var owner = new RawClient(transmitter.CommandEndpoint);
        var token = owner.Hello(service).Value<string>("session")!;
        var id = owner.Id;
        owner.Dispose();

        using var thief = new RawClient(transmitter.CommandEndpoint);
        // Until the transmitter has seen the connection close the THID is live (ID_IN_USE), then reserved (ID_RESERVED):
        // never the thief's.
        var codes = new List<int>();
        while (!codes.Contains((int)ThynapseErrorCode.IdReserved))
        {
            Ct.ThrowIfCancellationRequested();
            thief.SendJson("HELO", new JObject { ["id"] = id.ToString(), ["service"] = service });
            var (command, payload, _) = thief.ReceiveJson("the answer to the thief's HELO");
            Assert.AreEqual("ERRR", command, payload.ToString());
            codes.Add(payload.Value<int>("code"));
        }

        CollectionAssert.IsSubsetOf(codes.Distinct().ToList(), new[] { (int)ThynapseErrorCode.IdInUse, (int)ThynapseErrorCode.IdReserved });
        using var returning = new RawClient(transmitter.CommandEndpoint);
        returning.SendJson("HELO", new JObject { ["id"] = id.ToString(), ["service"] = service, ["resume"] = token });
        returning.Expect("WLCM");
    }

    [TestMethod]
    [Timeout(15_000)]
    public async Task AfterTheReservation_ANewSessionMayTakeTheThid()
    {
        await using var transmitter = Transmitters.StartLoopback(o => o with { IdReservation = TimeSpan.FromMilliseconds(200), MaxFailedAttempts = 0 });
        var service = TestIds.Next("claim");
        var owner = new RawClient(transmitter.CommandEndpoint);
        owner.Hello(service);
        var id = owner.Id;
        owner.Dispose();

        // A restarted cell that kept its THID but lost its token joins once the reservation is over.
        using var restarted = new RawClient(transmitter.CommandEndpoint);
        await Eventually.That("the restarted cell was welcomed with its old THID", () =>
        {
            restarted.SendJson("HELO", new JObject { ["id"] = id.ToString(), ["service"] = service });
            var (command, payload, _) = restarted.ReceiveJson("the answer to HELO");
            Assert.IsTrue(command == "WLCM" || payload.Value<int>("code") is (int)ThynapseErrorCode.IdReserved or (int)ThynapseErrorCode.IdInUse, payload.ToString());
            return command == "WLCM";
        }, cancellationToken: Ct);
    }
}
