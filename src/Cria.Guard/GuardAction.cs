namespace Cria.Guard;

/// <summary>What a check does when its detector finds something, in increasing strength: a rail's result is the strongest.</summary>
public enum GuardAction
{
    /// <summary>Nothing found (or nothing above a check's threshold).</summary>
    Allow,

    /// <summary>Record the finding (metrics, audit), change nothing.</summary>
    Log,

    /// <summary>Replace each found span with a placeholder such as <c>[EMAIL]</c>.</summary>
    Redact,

    /// <summary>Keep the request on a local model (the gateway's action); on a local server it is recorded like <see cref="Log"/>.</summary>
    RouteLocal,

    /// <summary>Refuse: an input is answered 400 <c>content_filter</c>, an output stream ends with finish reason <c>content_filter</c>.</summary>
    Block,
}

/// <summary>The policy file's names of the actions.</summary>
public static class GuardActions
{
    public static string Name(GuardAction action) => action switch
    {
        GuardAction.Log => "log",
        GuardAction.Redact => "redact",
        GuardAction.RouteLocal => "route_local",
        GuardAction.Block => "block",
        _ => "allow",
    };

    public static bool TryParse(string? name, out GuardAction action)
    {
        action = name switch
        {
            "log" => GuardAction.Log,
            "redact" => GuardAction.Redact,
            "route_local" => GuardAction.RouteLocal,
            "block" => GuardAction.Block,
            _ => GuardAction.Allow,
        };
        return action != GuardAction.Allow;
    }
}
