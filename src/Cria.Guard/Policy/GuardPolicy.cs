using Cria.Guard.Rails;

namespace Cria.Guard.Policy;

/// <summary>One policy: a rail per stage and how many characters a stream holds back for its output rail.</summary>
public sealed record GuardPolicy(string Name, Rail Input, Rail Output, Rail ToolCalls, int HoldBack)
{
    public const int DefaultHoldBack = 128;

    public static readonly GuardPolicy None = new("none", Rail.Empty, new Rails.Rail(GuardStage.Output, []), new Rails.Rail(GuardStage.ToolCalls, []), DefaultHoldBack);

    public bool IsEmpty => Input.IsEmpty && Output.IsEmpty && ToolCalls.IsEmpty;

    public Rail ForStage(GuardStage stage) => stage switch
    {
        GuardStage.Input => Input,
        GuardStage.Output => Output,
        _ => ToolCalls,
    };
}
