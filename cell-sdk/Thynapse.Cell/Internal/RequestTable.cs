using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The cell's requests (<c>SUBS</c>, <c>META</c>, <c>LIST</c>, <c>WTCH</c>, <c>HELO</c>…): those sent, by <c>ref</c>,
/// until answered, and those parked until the next welcome. Socket thread, except <see cref="AskAsync"/>.
/// </summary>
/// <remarks>
/// Without a session a request waits for the next welcome, within its timeout (issue 15, finding 4); when a session is
/// lost, those unanswered are parked again to be asked in the next one, in the order they were made (review finding 6).
/// </remarks>
internal sealed class RequestTable(SocketThread thread, Outbox outbox, CellSignals signals, CellOptions options)
{
    private readonly Dictionary<long, Request> _sent = [];
    private readonly List<Request> _parked = [];
    private long _nextRef;

    /// <summary>Requests sent and waiting for their answer.</summary>
    public int Waiting => _sent.Count;

    /// <summary>
    /// Any thread: sends a request (on the socket thread, after <paramref name="beforeSending"/>) and completes with its
    /// answer, fails with its <c>ERRR</c>, or fails with <see cref="ThynapseTimeoutException"/> after
    /// <see cref="CellOptions.RequestTimeout"/>, naming the cell's state when it has no session.
    /// </summary>
    /// <param name="request">The request; its <see cref="Request.Answered"/> runs on the socket thread with the answer.</param>
    /// <param name="beforeSending">Run on the socket thread before the request is first submitted.</param>
    /// <param name="cancellationToken">Stops waiting (the answer, if it comes, is ignored).</param>
    public async Task<OkayMessage> AskAsync(Request request, Action? beforeSending, CancellationToken cancellationToken)
    {
        if (!thread.Post(() =>
            {
                beforeSending?.Invoke();
                Submit(request);
            }))
        {
            ThynapseException.ThrowClosed();
        }

        try
        {
            return await request.Reply.Task.WaitAsync(options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            thread.Post(() => Withdraw(request));
            var state = signals.State;
            throw new ThynapseTimeoutException(state == CellState.Connected
                ? $"No answer to {CommandNames.Of(request.Command)} within {options.RequestTimeout} (CellOptions.RequestTimeout)."
                : $"No answer to {CommandNames.Of(request.Command)} within {options.RequestTimeout} (CellOptions.RequestTimeout): the cell is {state} and has not been welcomed again by a transmitter at {options.Transmitter}.");
        }
        catch (OperationCanceledException)
        {
            thread.Post(() => Withdraw(request));
            throw;
        }
    }

    /// <summary>Sends a request now if the session is open, or keeps it for the next welcome.</summary>
    public void Submit(Request request)
    {
        if (outbox.IsOpen)
        {
            Send(request);
        }
        else
        {
            _parked.Add(request);
        }
    }

    /// <summary>Sends a request with a fresh <c>ref</c>, and waits for its answer.</summary>
    public void Send(Request request)
    {
        request.Ref = ++_nextRef;
        request.Payload["ref"] = request.Ref;
        _sent[request.Ref] = request;
        outbox.Send(JsonPayload.Frame(request.Command, request.Payload));
    }

    /// <summary>Keeps a request for the next session (one refused with NOT_WELCOMED).</summary>
    public void Park(Request request) => _parked.Add(request);

    /// <summary>
    /// Takes the request a reply (<c>OKAY</c>, <c>WLCM</c>, <c>ERRR</c>) answers, by its <c>ref</c>: an integer, as the
    /// cell sends them (any other ref answers none of its requests).
    /// </summary>
    public bool TryTake(JValue? reference, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Request? request)
    {
        request = null;
        return reference is { Type: JTokenType.Integer, Value: long number } && _sent.Remove(number, out request);
    }

    /// <summary>An <c>OKAY</c>: its request's <see cref="Request.Answered"/> runs, then its task completes.</summary>
    public void Answer(OkayMessage okay)
    {
        if (TryTake(okay.Ref, out var request))
        {
            request.Answered?.Invoke(okay);
            request.Reply.TrySetResult(okay);
        }
    }

    /// <summary>Stops waiting for the answer to <c>ref</c> (a HELO whose link closed unanswered: review finding 13).</summary>
    public void Forget(long reference) => _sent.Remove(reference);

    /// <summary>
    /// The session was lost: the requests it had not answered (but HELOs) are asked again in the next one, before those
    /// parked meanwhile, in the order they were made — those sent (and one refused as NOT_WELCOMED) by their refs.
    /// </summary>
    public void SessionLost()
    {
        var sent = _sent.Values.Where(r => r.Command != Command.Helo).Concat(_parked.Where(r => r.Ref != 0)).OrderBy(r => r.Ref).ToList();
        _parked.RemoveAll(r => r.Ref != 0);
        _parked.InsertRange(0, sent);
        _sent.Clear();
    }

    /// <summary>A session was welcomed: the parked requests, in order, for the session to settle or send.</summary>
    public List<Request> TakeParked()
    {
        var parked = _parked.ToList();
        _parked.Clear();
        return parked;
    }

    /// <summary>After the socket thread stopped: every request still waiting fails with <paramref name="error"/>.</summary>
    public void FailAll(Exception error)
    {
        foreach (var request in _sent.Values.Concat(_parked))
        {
            request.Reply.TrySetException(error);
        }

        _sent.Clear();
        _parked.Clear();
    }

    private void Withdraw(Request request)
    {
        _parked.Remove(request);
        _sent.Remove(request.Ref);
    }
}
