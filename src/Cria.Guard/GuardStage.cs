namespace Cria.Guard;

/// <summary>Where a rail runs: on what comes in, on what the model writes, on the arguments of the tools it calls.</summary>
public enum GuardStage
{
    /// <summary>Every message of a request (system prompts and tool results included), or a raw prompt.</summary>
    Input,

    /// <summary>The generated text, whole or as it streams.</summary>
    Output,

    /// <summary>The arguments of each tool call the model makes.</summary>
    ToolCalls,
}

public static class GuardStages
{
    public static string Name(GuardStage stage) => stage switch
    {
        GuardStage.Input => "input",
        GuardStage.Output => "output",
        _ => "tool_calls",
    };
}
