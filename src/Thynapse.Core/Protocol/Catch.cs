namespace Thynapse.Core;

/// <summary>How a subscription catches the events of its pattern (DESIGN-BRIEF §1, PROTOCOL.md §3.2).</summary>
public enum Catch
{
    /// <summary>Every subscribed cell of every subscribed service gets its own copy (wire name <c>multi</c>).</summary>
    Multi = 0,

    /// <summary>Exactly one subscribed cell per subscribed service gets the event (wire name <c>any</c>).</summary>
    Any = 1,
}
