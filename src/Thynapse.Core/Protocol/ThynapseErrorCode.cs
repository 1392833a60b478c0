namespace Thynapse.Core;

/// <summary>
/// The codes a transmitter sends in <c>ERRR</c> (PROTOCOL.md §7). The numbers are the wire values.
/// </summary>
public enum ThynapseErrorCode
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>A frame is larger than the transmitter's frame limit.</summary>
    FrameTooLarge = 100,

    /// <summary>The header frame is not <c>E CMND payload</c>: too short, or missing the spaces.</summary>
    MalformedHeader = 101,

    /// <summary>The encoding id (the first character) is not one the transmitter knows.</summary>
    UnknownEncoding = 102,

    /// <summary>The command is not defined (for that encoding and direction).</summary>
    UnknownCommand = 103,

    /// <summary>A <c>J</c> payload is not a JSON object.</summary>
    InvalidJson = 104,

    /// <summary>A field is missing, has the wrong type or an invalid value; the message names it.</summary>
    InvalidField = 105,

    /// <summary>The message has more frames than its command allows.</summary>
    UnexpectedFrames = 106,

    /// <summary>The header frame of a <c>J</c> command is larger than the header limit.</summary>
    HeaderTooLarge = 107,

    /// <summary>The cell asked for a protocol version the transmitter does not speak.</summary>
    UnsupportedProtocol = 108,

    /// <summary>A binary record is truncated or inconsistent; the rest of that frame was not read.</summary>
    MalformedRecord = 109,

    /// <summary>The command needs a session, and the sender has not been welcomed (send <c>HELO</c> first).</summary>
    NotWelcomed = 200,

    /// <summary><c>HELO</c> on a connection that already has a session.</summary>
    AlreadyWelcomed = 201,

    /// <summary>Another live cell holds this THID and the <c>HELO</c> did not prove it is the same cell.</summary>
    IdInUse = 202,

    /// <summary>The <c>HELO</c> carried no secret, a wrong one, or one that may not join as its service (§5.1, §7).</summary>
    AuthenticationFailed = 203,

    /// <summary>The THID's session ended moments ago and is reserved for its cell: re-join with its <c>resume</c> token (§4.4).</summary>
    IdReserved = 204,

    /// <summary>Too many failed <c>HELO</c>s from this source address: wait as long as the message says (§5.1).</summary>
    TooManyAttempts = 205,

    /// <summary>The transmitter holds as many cells as it allows (<c>TransmitterOptions.MaxCells</c>): join another one, or later.</summary>
    TooManyCells = 206,

    /// <summary>
    /// A transmitter mesh request from a connection that has not proven the cluster secret, or with a wrong proof
    /// (<c>--cluster-secret</c>, PROTOCOL.md §12.12).
    /// </summary>
    ClusterAuthenticationFailed = 207,

    /// <summary>The cell published more events a second than the transmitter allows (<c>TransmitterOptions.MaxPublishRate</c>); the event was not routed.</summary>
    RateLimited = 208,

    /// <summary>
    /// The transmitter admits only listed cell CURVE keys (<c>TransmitterOptions.AllowedCellKeys</c>), and the <c>HELO</c>
    /// carried no <c>key</c> proof, one that does not open, or a key not on the list (§5.1).
    /// </summary>
    KeyNotAllowed = 209,

    /// <summary>The channel of an event is not a valid channel name.</summary>
    InvalidChannel = 300,

    /// <summary>The pattern of a subscription is not a valid pattern.</summary>
    InvalidPattern = 301,

    /// <summary>The catch mode is neither <c>multi</c> nor <c>any</c>.</summary>
    InvalidMode = 302,

    /// <summary>No subscription of this cell has that id.</summary>
    UnknownSubscription = 303,

    /// <summary>The cell already has a subscription with that id.</summary>
    DuplicateSubscription = 304,

    /// <summary>The cell reached its limit of subscriptions.</summary>
    TooManySubscriptions = 305,

    /// <summary>Cells may not publish on channels that start with <c>$</c>.</summary>
    ReservedChannel = 306,

    /// <summary>A metadata query is not valid (unknown operator, wrong operand type, bad shape); the message names the path.</summary>
    InvalidQuery = 400,

    /// <summary>A metadata query nests deeper than the transmitter allows.</summary>
    QueryTooDeep = 401,

    /// <summary>A metadata query has more clauses, longer lists or longer strings than the transmitter allows.</summary>
    QueryTooLarge = 402,

    /// <summary>A cell's metadata (or tags) is larger than the transmitter allows.</summary>
    MetadataTooLarge = 403,

    /// <summary>No watch of this cell has that id.</summary>
    UnknownWatch = 404,

    /// <summary>The cell already has a watch with that id.</summary>
    DuplicateWatch = 405,

    /// <summary>The service's queue of anycatch events waiting for a cell with room is full: the event was not taken.</summary>
    QueueFull = 500,

    /// <summary>An <c>ACKN</c> or <c>NACK</c> names a tag this transmitter never gave this cell.</summary>
    UnknownDelivery = 501,

    /// <summary>The transmitter failed in a way it did not expect; the command may not have been applied.</summary>
    InternalError = 900,

    /// <summary>The transmitter is shutting down and takes no new work.</summary>
    ShuttingDown = 901,

    /// <summary>The transmitter is joining its mesh and does not yet hold its peers' cell directory: try again shortly, or another transmitter.</summary>
    NotReady = 902,
}
