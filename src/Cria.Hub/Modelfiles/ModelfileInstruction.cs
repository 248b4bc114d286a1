namespace Cria.Hub.Modelfiles;

/// <summary>What a Modelfile line asks for.</summary>
public enum ModelfileVerb
{
    From,
    Parameter,
    Template,
    System,
    Adapter,
    License,
    Message,
}

/// <summary>
/// One instruction of a Modelfile: its verb, the parameter name or message role for PARAMETER and
/// MESSAGE (<see cref="Key"/>), the value with quotes removed, and the line it starts on.
/// </summary>
public sealed record ModelfileInstruction(ModelfileVerb Verb, string? Key, string Value, int Line);
