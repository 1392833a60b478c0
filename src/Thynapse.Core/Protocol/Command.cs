using System.Buffers.Binary;

namespace Thynapse.Core;

/// <summary>The four-character commands of protocol v1 (PROTOCOL.md §5).</summary>
public enum Command
{
    /// <summary>Not a command of protocol v1.</summary>
    Unknown = 0,

    /// <summary>Cell → transmitter: join (id, service, …).</summary>
    Helo,

    /// <summary>Transmitter → cell: the answer to <c>HELO</c>.</summary>
    Wlcm,

    /// <summary>Cell → transmitter: publish an event.</summary>
    Evnt,

    /// <summary>Transmitter → cell: deliver an event.</summary>
    Dlvr,

    /// <summary>Transmitter → cell: a confirmed event was accepted.</summary>
    Acpt,

    /// <summary>Cell → transmitter: subscribe a pattern in a catch mode.</summary>
    Subs,

    /// <summary>Cell → transmitter: end a subscription.</summary>
    Unsb,

    /// <summary>Transmitter → cell: a command with a <c>ref</c> succeeded.</summary>
    Okay,

    /// <summary>Both ways: heartbeat.</summary>
    Beat,

    /// <summary>Both ways: leaving (cell) or shutting down (transmitter).</summary>
    Gbye,

    /// <summary>Transmitter → cell: an error, with a code.</summary>
    Errr,

    /// <summary>Transmitter → cell: events were dropped because the cell did not keep up.</summary>
    Slow,

    /// <summary>Cell → transmitter: anycatch deliveries handled (by tag).</summary>
    Ackn,

    /// <summary>Cell → transmitter: an anycatch delivery failed; redeliver it.</summary>
    Nack,

    /// <summary>Transmitter → cell: the outcome of an event published with completion confirms.</summary>
    Done,

    /// <summary>Cell → transmitter: replace or merge this cell's metadata and tags.</summary>
    Meta,

    /// <summary>Cell → transmitter: list the cells matching a filter.</summary>
    List,

    /// <summary>Cell → transmitter: watch the cells matching a filter (joins, updates, leaves).</summary>
    Wtch,

    /// <summary>Cell → transmitter: end a watch.</summary>
    Unwt,

    /// <summary>Transmitter → cell: a watched cell joined, changed or left.</summary>
    Cell,

    /// <summary>Transmitter → cell: publishing credit, in bytes of <c>EVNT</c> messages (PROTOCOL.md §8.4).</summary>
    Cred,

    /// <summary>Cell → transmitter: anycatch deliveries still in progress; their ack deadlines start again.</summary>
    Prog,

    /// <summary>Transmitter → cell: the known transmitters changed (the mesh's live members, PROTOCOL.md §5.19).</summary>
    Tmtr,
}

/// <summary>Wire names of <see cref="Command"/> values and the fast mapping between them.</summary>
public static class CommandNames
{
    private static readonly string[] Names = ["????", "HELO", "WLCM", "EVNT", "DLVR", "ACPT", "SUBS", "UNSB", "OKAY", "BEAT", "GBYE", "ERRR", "SLOW", "ACKN", "NACK", "DONE", "META", "LIST", "WTCH", "UNWT", "CELL", "CRED", "PROG", "TMTR"];
    private static readonly Dictionary<uint, Command> ByCode = Enumerable.Range(1, Names.Length - 1)
        .ToDictionary(i => Code(Names[i]), i => (Command)i);

    /// <summary>The four characters of <paramref name="command"/>.</summary>
    public static string Of(Command command) => Names[(int)command];

    /// <summary>Maps four ASCII bytes to a command, <see cref="Command.Unknown"/> when not one of v1.</summary>
    public static Command Parse(ReadOnlySpan<byte> fourBytes) =>
        fourBytes.Length == 4 && ByCode.TryGetValue(BinaryPrimitives.ReadUInt32LittleEndian(fourBytes), out var command)
            ? command
            : Command.Unknown;

    private static uint Code(string name) => (uint)(name[0] | name[1] << 8 | name[2] << 16 | name[3] << 24);
}
